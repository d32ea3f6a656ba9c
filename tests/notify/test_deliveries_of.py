"""The per-order notification log that order and event pages include."""

from __future__ import annotations

from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from orderreport.accounts.access import project_for
from orderreport.notify.models import Attempt, Delivery
from tests.conftest import Api, Team
from tests.notify.conftest import place_order, telegram_channel


def _render(order: object, access: object) -> str:
    template = Template("{% load notify_tags %}{% deliveries_of order access %}")
    # Earlier requests may have left another language active in this thread.
    with translation.override("en"):
        return template.render(Context({"order": order, "access": access, "csrf_token": "t"}))


def test_it_shows_each_attempt_of_an_orders_notifications(api: Api, team: Team) -> None:
    channel = telegram_channel(team.shop)
    place_order(api, team.shop)
    order = team.shop.project.orders.get()
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    Attempt.objects.create(
        delivery=delivery,
        at=timezone.now(),
        duration_ms=12,
        outcome="failed",
        error="Telegram: 400 <bad>",
    )
    page = _render(order, project_for(team.owner, team.shop.project.pk))
    assert channel.name in page
    assert "Telegram: 400 &lt;bad&gt;" in page
    assert "Send again" in page
    assert "Send again" not in _render(order, project_for(team.viewer, team.shop.project.pk))


def test_it_says_when_nothing_was_sent(api: Api, team: Team) -> None:
    place_order(api, team.shop)
    order = team.shop.project.orders.get()
    page = _render(order, project_for(team.owner, team.shop.project.pk))
    assert "No notifications were sent" in page


def test_it_is_on_the_order_page_and_the_event_record_page(
    api: Api, team: Team, client: Client
) -> None:
    channel = telegram_channel(team.shop)
    place_order(api, team.shop)
    order = team.shop.project.orders.get()
    client.force_login(team.viewer)
    page = client.get(f"/projects/{team.shop.project.pk}/orders/{order.pk}/").content.decode()
    assert 'class="notify-log"' in page
    assert channel.name in page
    response = api.event({"event": team.shop.event.key, "data": []}, team.shop.key.key)
    record_id = response.json()["id"]
    page = client.get(f"/projects/{team.shop.project.pk}/records/{record_id}/").content.decode()
    assert 'class="notify-log"' in page
    assert "No notifications were sent" in page  # the channel takes orders, not this event
