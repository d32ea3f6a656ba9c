"""Dashboard pages of notification channels: list, add, change, switch, test, log, confirm."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.notify import crypto
from orderreport.notify.models import Channel, Delivery
from orderreport.notify.services import confirmation_token
from tests.conftest import Team
from tests.mail import sent_mail
from tests.notify.conftest import BOT_TOKEN, plain_secret, telegram_channel, webhook_channel


@pytest.fixture(autouse=True)
def _plain_static(settings: Any) -> None:
    # Pages render without a prior collectstatic (STATIC_HASHED may be read before the
    # root conftest sets it).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _url(name: str, *args: Any) -> str:
    return reverse(f"notify:{name}", args=args)


def test_it_lists_channels_with_their_state(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop)
    off = webhook_channel(team.shop, "https://example.com/h", is_active=False)
    off.disabled_reason = "Webhook answered HTTP 410"
    off.save()
    client.force_login(team.viewer)
    response = client.get(_url("channels", team.shop.project.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert channel.name in page
    assert "Webhook answered HTTP 410" in page
    assert BOT_TOKEN not in page
    assert "Send test" not in page  # a viewer reads only


def test_it_shows_an_empty_state_with_the_next_step(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    page = client.get(_url("channels", team.shop.project.pk)).content.decode()
    assert "No channels yet" in page
    assert _url("add", team.shop.project.pk, "telegram") in page


def test_it_hides_channels_from_outsiders(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop)
    client.force_login(team.outsider)
    project = team.shop.project.pk
    assert client.get(_url("channels", project)).status_code == 404
    assert client.get(_url("channel", project, channel.pk)).status_code == 404
    assert client.post(_url("toggle", project, channel.pk)).status_code == 404
    assert Channel.objects.get().is_active


def test_it_adds_a_telegram_channel(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    response = client.post(
        _url("add", team.shop.project.pk, "telegram"),
        {"name": "Sales", "bot_token": BOT_TOKEN, "chat_id": "-100500", "receives_orders": "on"},
    )
    channel = Channel.objects.get()
    assert response.status_code == 302
    assert channel.config["chat_id"] == "-100500"
    assert crypto.unseal(channel.config["bot_token"]) == BOT_TOKEN
    assert channel.receives_orders and not channel.receives_limits
    page = client.get(response["Location"]).content.decode()
    assert BOT_TOKEN not in page  # never shown again


def test_it_explains_a_bad_bot_token_and_writes_nothing(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(
        _url("add", team.shop.project.pk, "telegram"),
        {"name": "Sales", "bot_token": "not-a-token", "chat_id": "-100500"},
    )
    assert response.status_code == 200
    assert "does not look like a bot token" in response.content.decode()
    assert "not-a-token" not in response.content.decode()  # a secret is not echoed
    assert not Channel.objects.exists()


def test_it_refuses_a_plain_http_webhook(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "http://crm.example.com/hook", "receives_orders": "on"},
    )
    assert response.status_code == 200
    assert "must start with https://" in response.content.decode()
    assert not Channel.objects.exists()


PRIVATE_NETWORK = "This address leads to a private or local network."


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.5:8443/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00::5]/hook",
        "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 of the metadata address
        "https://localhost/hook",  # a name resolving to loopback at save time
    ],
)
def test_it_refuses_a_webhook_to_a_private_address(
    client: Client, team: Team, settings: Any, url: str
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    client.force_login(team.owner)
    response = client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": url, "receives_orders": "on"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert PRIVATE_NETWORK in page
    assert "127.0.0.1" not in page.replace(url, "")  # what a name resolves to stays hidden
    assert not Channel.objects.exists()


def test_it_refuses_to_move_a_webhook_to_a_private_address(
    client: Client, team: Team, settings: Any
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    channel = webhook_channel(team.shop, "https://crm.example.com/hook")
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    response = client.post(
        _url("channel", team.shop.project.pk, channel.pk),
        {"name": "CRM", "url": "https://192.168.1.1/hook", "receives_orders": "on"},
    )
    assert response.status_code == 200
    assert "Этот адрес ведёт в частную или локальную сеть" in response.content.decode()
    channel.refresh_from_db()
    assert channel.config["url"] == "https://crm.example.com/hook"


def test_it_saves_a_private_webhook_where_the_operator_allows_it(
    client: Client, team: Team, settings: Any
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.5.0/24"]
    client.force_login(team.owner)
    add = _url("add", team.shop.project.pk, "webhook")
    assert client.post(add, {"name": "CRM", "url": "https://10.0.5.7/hook"}).status_code == 302
    assert PRIVATE_NETWORK in client.post(add, {"name": "CRM", "url": "https://10.0.6.7/"}).text
    settings.OUTBOUND_ALLOW_PRIVATE = True
    assert client.post(add, {"name": "CRM", "url": "https://127.0.0.1/hook"}).status_code == 302
    assert Channel.objects.count() == 2


def test_it_shows_a_webhook_secret_once(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "https://crm.example.com/hook", "receives_orders": "on"},
    )
    secret = plain_secret(Channel.objects.get())
    assert secret in client.get(response["Location"]).content.decode()
    assert secret not in client.get(response["Location"]).content.decode()


def test_it_rotates_a_webhook_secret(client: Client, team: Team) -> None:
    channel = webhook_channel(team.shop, "https://crm.example.com/hook")
    old = plain_secret(channel)
    client.force_login(team.owner)
    response = client.post(_url("rotate-secret", team.shop.project.pk, channel.pk), follow=True)
    channel.refresh_from_db()
    assert plain_secret(channel) != old
    assert plain_secret(channel) in response.content.decode()


def test_it_keeps_the_token_when_a_change_leaves_it_empty(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop)
    client.force_login(team.owner)
    response = client.post(
        _url("channel", team.shop.project.pk, channel.pk),
        {"name": "Renamed", "bot_token": "", "chat_id": "@shop_orders", "receives_limits": "on"},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Renamed"
    assert channel.config["chat_id"] == "@shop_orders"
    assert crypto.unseal(channel.config["bot_token"]) == BOT_TOKEN
    assert not channel.receives_orders and channel.receives_limits


def test_it_lets_a_viewer_read_but_not_write(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop)
    client.force_login(team.viewer)
    project = team.shop.project.pk
    assert client.get(_url("channel", project, channel.pk)).status_code == 200
    assert client.get(_url("add", project, "telegram")).status_code == 403
    for name in ("toggle", "test", "delete"):
        assert client.post(_url(name, project, channel.pk)).status_code == 403
    assert client.post(_url("channel", project, channel.pk), {"name": "x"}).status_code == 403
    channel.refresh_from_db()
    assert channel.is_active and channel.name == "Sales chat"
    assert not Delivery.objects.exists()


def test_it_switches_a_channel_off_and_on(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop, is_active=False, disabled_reason="Telegram: 403 blocked")
    client.force_login(team.owner)
    client.post(_url("toggle", team.shop.project.pk, channel.pk))
    channel.refresh_from_db()
    assert channel.is_active and channel.disabled_reason == ""
    client.post(_url("toggle", team.shop.project.pk, channel.pk))
    channel.refresh_from_db()
    assert not channel.is_active


def test_it_queues_a_test_message(client: Client, team: Team) -> None:
    channel = telegram_channel(team.shop)
    client.force_login(team.admin)
    response = client.post(_url("test", team.shop.project.pk, channel.pk))
    assert response.status_code == 302
    assert Delivery.objects.get().topic == "test"


def test_it_sends_a_delivery_again_from_the_log(client: Client, team: Team) -> None:
    from django.utils import timezone

    from orderreport.notify.outbox import enqueue_test

    channel = telegram_channel(team.shop)
    failed = enqueue_test(channel, timezone.now())
    Delivery.objects.filter(pk=failed.pk).update(status="failed", last_error="HTTP 500")
    client.force_login(team.owner)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert "Send again" in page
    client.post(_url("resend", team.shop.project.pk, channel.pk, failed.pk))
    assert Delivery.objects.filter(status="pending").count() == 1


def test_it_does_not_resend_another_tenants_delivery(client: Client, team: Team) -> None:
    from django.utils import timezone

    from orderreport.notify.outbox import enqueue_test
    from tests.conftest import make_shop

    stranger = make_shop(domain="stranger.example")
    theirs = enqueue_test(telegram_channel(stranger), timezone.now())
    mine = telegram_channel(team.shop)
    client.force_login(team.owner)
    response = client.post(_url("resend", team.shop.project.pk, mine.pk, theirs.pk))
    assert response.status_code == 404
    assert Delivery.objects.count() == 1


def test_it_confirms_an_e_mail_address_by_link(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post(
        _url("add", team.shop.project.pk, "email"),
        {
            "name": "Team",
            "addresses": f"{team.owner.email}, Sales@Example.com",
            "receives_orders": "on",
        },
    )
    channel = Channel.objects.get()
    # A member's own address needs no link; the other gets one.
    assert channel.config["confirmed"] == [team.owner.email]
    (message,) = sent_mail()
    assert message.to == ["sales@example.com"]
    link = re.search(r"https?://\S+/notifications/confirm/\S+/", message.body)
    assert link
    path = link.group(0).split("127.0.0.1:8000", 1)[-1]
    client.logout()
    assert client.get(path).status_code == 200  # shows a button, changes nothing
    assert Channel.objects.get().config["confirmed"] == [team.owner.email]
    response = client.post(path)
    assert response.status_code == 200
    assert Channel.objects.get().config["confirmed"] == [team.owner.email, "sales@example.com"]


def test_it_refuses_a_forged_confirmation_link(client: Client, team: Team) -> None:
    channel = Channel.objects.create(
        project=team.shop.project,
        kind="email",
        name="x",
        config={"addresses": ["a@example.com"], "confirmed": []},
    )
    token = confirmation_token(channel, "a@example.com")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.post(_url("confirm-email", forged))
    assert response.status_code == 400
    assert Channel.objects.get().config["confirmed"] == []
    # The way to a new link is the channel page's button (saving the channel no longer mails
    # addresses it already had).
    assert "Send the link again" in response.content.decode()
    response = client.post(_url("confirm-email", forged), HTTP_ACCEPT_LANGUAGE="ru")
    assert "Отправить ссылку ещё раз" in response.content.decode()


def test_it_refuses_events_of_another_project(client: Client, team: Team) -> None:
    from tests.conftest import make_shop

    stranger = make_shop(domain="stranger.example")
    client.force_login(team.owner)
    response = client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": [stranger.event.pk]},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Channel.objects.exists()


def test_it_chooses_the_events_a_channel_receives(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": [team.shop.event.pk]},
    )
    channel = Channel.objects.get()
    assert list(channel.events.all()) == [team.shop.event]
    assert not channel.receives_orders


def test_it_sends_anonymous_visitors_to_log_in(client: Client, team: Team) -> None:
    response = client.get(_url("channels", team.shop.project.pk))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_it_knows_no_other_kind_of_channel(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    assert client.get(_url("add", team.shop.project.pk, "sms")).status_code == 404


def test_it_speaks_the_users_language(client: Client, team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    page = client.get(_url("channels", team.shop.project.pk)).content.decode()
    assert "Каналов пока нет" in page
    assert "Добавить: Telegram" in page


def test_it_adds_a_channel_with_the_daily_summary(client: Client, team: Team) -> None:
    team.shop.project.timezone = "Europe/Moscow"
    team.shop.project.save()
    client.force_login(team.admin)
    form = client.get(_url("add", team.shop.project.pk, "telegram")).content.decode()
    assert "Daily summary" in form
    assert "Europe/Moscow" in form  # the hour is the project's
    response = client.post(
        _url("add", team.shop.project.pk, "telegram"),
        {
            "name": "Sales",
            "bot_token": BOT_TOKEN,
            "chat_id": "-100500",
            "sends_digest": "on",
            "digest_hour": "7",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert channel.sends_digest and channel.digest_hour == 7
    assert channel.digest_since is not None
    page = client.get(response["Location"]).content.decode()
    assert "Daily summary: every day at 07:00 (Europe/Moscow)." in page
    listing = client.get(_url("channels", team.shop.project.pk)).content.decode()
    assert "daily summary at 07:00" in listing


def test_it_keeps_the_daily_summary_off_unless_asked(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "https://crm.example.com/hook", "digest_hour": "30"},
    )
    assert not Channel.objects.exists()  # no such hour
    response = client.post(
        _url("add", team.shop.project.pk, "webhook"),
        {"name": "CRM", "url": "https://crm.example.com/hook"},
    )
    channel = Channel.objects.get()
    assert not channel.sends_digest and channel.digest_since is None
    assert "Daily summary: off." in client.get(response["Location"]).content.decode()


def test_it_switches_the_daily_summary_on_for_an_existing_channel(
    client: Client, team: Team
) -> None:
    channel = telegram_channel(team.shop)
    client.force_login(team.owner)
    url = _url("channel", team.shop.project.pk, channel.pk)
    fields = {"name": "Sales chat", "chat_id": "-100123", "receives_orders": "on"}
    client.post(url, {**fields, "sends_digest": "on", "digest_hour": "21"})
    channel.refresh_from_db()
    assert channel.sends_digest and channel.digest_hour == 21
    since = channel.digest_since
    assert since is not None
    # Saving again, or moving the hour, does not move the start (no summary is skipped).
    client.post(url, {**fields, "sends_digest": "on", "digest_hour": "8"})
    channel.refresh_from_db()
    assert (channel.digest_hour, channel.digest_since) == (8, since)
    client.post(url, fields)
    channel.refresh_from_db()
    assert not channel.sends_digest


def test_it_shows_the_daily_summary_in_russian(client: Client, team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save()
    channel = telegram_channel(team.shop, sends_digest=True, digest_hour=9)
    client.force_login(team.owner)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert "Сводка за день: каждый день в 09:00 (UTC)." in page
    assert "Присылать сводку за день в" in page


def test_it_shows_the_log_in_the_projects_time_zone_named_once(client: Client, team: Team) -> None:
    import datetime as dt

    from orderreport.notify.models import Attempt
    from orderreport.notify.outbox import enqueue_test

    team.shop.project.timezone = "Asia/Tokyo"  # UTC+9
    team.shop.project.save()
    channel = telegram_channel(team.shop)
    at = dt.datetime(2026, 12, 1, 22, 10, 5, tzinfo=dt.UTC)
    delivery = enqueue_test(channel, at)
    Attempt.objects.create(delivery=delivery, at=at, duration_ms=12, outcome="failed")
    client.force_login(team.owner)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert "Dec 2, 2026, 7:10:05" in page  # 22:10:05 UTC
    assert "22:10" not in page

    def shown(page: str) -> str:
        # The settings form (folded away) explains the summary's hour in the zone too.
        return re.sub(r"<form.*?</form>", "", page, flags=re.S)

    # Named once: by the daily summary's line when it is on, else above the log.
    assert shown(page).count("Asia/Tokyo") == 1
    Channel.objects.filter(pk=channel.pk).update(sends_digest=not channel.sends_digest)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert shown(page).count("Asia/Tokyo") == 1


def _save_email_channel(client: Client, team: Team, addresses: str) -> Any:
    project = team.shop.project.pk
    fields = {"name": "Team", "addresses": addresses, "receives_orders": "on"}
    channel = Channel.objects.filter(kind="email").first()
    if channel is None:
        return client.post(_url("add", project, "email"), fields, follow=True)
    return client.post(_url("channel", project, channel.pk), fields, follow=True)


def test_it_mails_only_the_addresses_a_save_adds(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    _save_email_channel(client, team, "one@example.com, two@example.com")
    assert sorted(m.to[0] for m in sent_mail()) == ["one@example.com", "two@example.com"]
    sent_mail().clear()
    for _save in range(3):
        _save_email_channel(client, team, "one@example.com, two@example.com")
    assert sent_mail() == []
    _save_email_channel(client, team, "one@example.com, two@example.com, three@example.com")
    assert [m.to for m in sent_mail()] == [["three@example.com"]]


def test_it_mails_an_address_once_per_cooldown(client: Client, team: Team, settings: Any) -> None:
    settings.MAIL_ADDRESS_COOLDOWN_SECONDS = 600
    address = f"cool-{team.owner.pk}@example.com"  # counters outlive a test in a shared Redis
    client.force_login(team.owner)
    _save_email_channel(client, team, address)
    _save_email_channel(client, team, "other@example.com")
    sent_mail().clear()
    page = _save_email_channel(client, team, address)
    assert sent_mail() == []
    assert f"A confirmation link was sent to {address} a few minutes ago" in page.content.decode()


def test_it_caps_the_confirmations_a_member_sends_in_a_day(
    client: Client, team: Team, settings: Any
) -> None:
    settings.CONFIRMATION_MAILS_PER_DAY = 2
    client.force_login(team.owner)
    page = _save_email_channel(client, team, "a@example.com, b@example.com, c@example.com")
    assert len(sent_mail()) == 2
    assert (
        "Not sent to c@example.com: you have sent 2 confirmation e-mails today"
        in page.content.decode()
    )


def _email_channel(team: Team, addresses: list[str], confirmed: list[str]) -> Channel:
    return Channel.objects.create(
        project=team.shop.project,
        kind="email",
        name="Team",
        config={"addresses": addresses, "confirmed": confirmed},
    )


def test_it_sends_one_waiting_address_its_link_again(client: Client, team: Team) -> None:
    channel = _email_channel(team, ["a@example.com", "b@example.com"], [])
    client.force_login(team.owner)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert page.count("Send the link again") == 2  # one per address waiting

    response = client.post(
        _url("confirm-again", team.shop.project.pk, channel.pk),
        {"address": "B@example.com"},
        follow=True,
    )

    assert "A confirmation link is on its way to: b@example.com" in response.content.decode()
    (message,) = sent_mail()
    assert message.to == ["b@example.com"]
    link = re.search(r"https?://\S+/notifications/confirm/\S+/", message.body)
    assert link
    client.post(link.group(0).split("127.0.0.1:8000", 1)[-1])
    assert Channel.objects.get().config["confirmed"] == ["b@example.com"]


def test_sending_a_link_again_keeps_the_cooldown(client: Client, team: Team, settings: Any) -> None:
    settings.MAIL_ADDRESS_COOLDOWN_SECONDS = 600
    address = f"again-{team.owner.pk}@example.com"  # counters outlive a test in a shared Redis
    channel = _email_channel(team, [address], [])
    client.force_login(team.owner)
    url = _url("confirm-again", team.shop.project.pk, channel.pk)
    client.post(url, {"address": address})
    assert len(sent_mail()) == 1
    page = client.post(url, {"address": address}, follow=True).content.decode()
    assert len(sent_mail()) == 1
    assert f"A confirmation link was sent to {address} a few minutes ago" in page


def test_it_sends_no_link_for_a_confirmed_or_foreign_address(client: Client, team: Team) -> None:
    channel = _email_channel(team, ["a@example.com"], ["a@example.com"])
    client.force_login(team.owner)
    url = _url("confirm-again", team.shop.project.pk, channel.pk)
    confirmed = client.post(url, {"address": "a@example.com"}, follow=True).content.decode()
    assert "a@example.com is confirmed already." in confirmed
    foreign = client.post(url, {"address": "x@elsewhere.example"}, follow=True).content.decode()
    assert "That address is not one of this channel&#x27;s." in foreign
    assert sent_mail() == []


def test_a_viewer_cannot_send_a_link_again(client: Client, team: Team) -> None:
    channel = _email_channel(team, ["a@example.com"], [])
    client.force_login(team.viewer)
    page = client.get(_url("channel", team.shop.project.pk, channel.pk)).content.decode()
    assert "Send the link again" not in page
    response = client.post(
        _url("confirm-again", team.shop.project.pk, channel.pk), {"address": "a@example.com"}
    )
    assert response.status_code == 403
    assert sent_mail() == []
