"""Forms without code on the dashboard: the event's form page, its webhook token's rotation,
the integration page's "Form without code" section and its test submission button."""

from __future__ import annotations

import html
import re
import subprocess
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.events.models import EventRecord
from orderreport.projects.models import Domain, Event
from orderreport.projects.services import TEST_SUBMISSION_VALUE
from tests.conftest import Shop, Team

live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def form_page(shop: Shop, event: Event | None = None) -> str:
    return reverse("projects:event_form", args=[shop.project.pk, (event or shop.event).pk])


def rotate_url(shop: Shop) -> str:
    return reverse("projects:event_form_rotate", args=[shop.project.pk, shop.event.pk])


def integration(shop: Shop) -> str:
    return reverse("projects:integration", args=[shop.project.pk])


def form_snippet(page: str) -> str:
    (found,) = [
        html.unescape(s)
        for s in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)
        if html.unescape(s).startswith("<form ")
    ]
    return found


# --- The event's form page ------------------------------------------------------------------


def test_it_shows_the_form_and_webhook_addresses(client: Client, team: Team, settings: Any) -> None:
    settings.BASE_URL = "https://orders.example.net"
    event = team.shop.event
    client.force_login(team.admin)
    page = client.get(form_page(team.shop)).text
    assert f"https://orders.example.net/f/{event.key}" in page
    assert f'data-copy="https://orders.example.net/hooks/forms/{event.form_token}"' in page
    assert rotate_url(team.shop) in page
    # The event keys page and the event's records page lead here.
    keys = client.get(reverse("projects:events", args=[team.shop.project.pk])).text
    assert form_page(team.shop) in keys
    records = reverse("events:event_records", args=[team.shop.project.pk, event.pk])
    assert form_page(team.shop) in client.get(records).text


def test_it_keeps_the_webhook_address_from_viewers(client: Client, team: Team) -> None:
    event = team.shop.event
    client.force_login(team.viewer)
    page = client.get(form_page(team.shop)).text
    assert f"/f/{event.key}" in page
    assert event.form_token not in page
    assert "Only owners and admins can see the webhook address." in page
    assert event.form_token not in client.get(integration(team.shop)).text


def test_it_rotates_the_webhook_token(client: Client, team: Team) -> None:
    event = team.shop.event
    old = event.form_token
    client.force_login(team.owner)
    confirm = client.get(rotate_url(team.shop))
    assert "The current one is refused from the next post" in confirm.text
    event.refresh_from_db()
    assert event.form_token == old  # asking is not rotating
    response = client.post(rotate_url(team.shop), follow=True)
    event.refresh_from_db()
    assert event.form_token != old and event.form_token.startswith("fh_")
    assert response.redirect_chain[-1][0] == form_page(team.shop)
    assert f"/hooks/forms/{event.form_token}" in response.text
    assert old not in response.text
    assert "New webhook address issued." in response.text


def test_it_refuses_rotation_to_viewers_and_outsiders(
    client: Client, team: Team, other_shop: Shop
) -> None:
    old = team.shop.event.form_token
    client.force_login(team.viewer)
    assert client.get(rotate_url(team.shop)).status_code == 403
    assert client.post(rotate_url(team.shop)).status_code == 403
    client.force_login(team.outsider)
    assert client.get(form_page(team.shop)).status_code == 404
    assert client.post(rotate_url(team.shop)).status_code == 404
    # Another tenant's event under this project's address.
    client.force_login(team.owner)
    theirs = reverse("projects:event_form_rotate", args=[team.shop.project.pk, other_shop.event.pk])
    assert client.post(theirs).status_code == 404
    assert client.get(form_page(team.shop, other_shop.event)).status_code == 404
    team.shop.event.refresh_from_db()
    other_shop.event.refresh_from_db()
    assert team.shop.event.form_token == old


# --- The integration page's section ---------------------------------------------------------


def test_it_gives_a_ready_form_with_the_real_key_and_address(
    client: Client, team: Team, settings: Any
) -> None:
    settings.BASE_URL = "https://orders.example.net"
    shop = team.shop
    client.force_login(team.owner)
    page = client.get(integration(shop)).text
    snippet = form_snippet(page)
    assert snippet.startswith(f'<form action="https://orders.example.net/f/{shop.event.key}"')
    for name in ("name", "phone", "email", "comment", "_gotcha"):
        assert f'name="{name}"' in snippet
    assert '<input type="hidden" name="_next" value="https://example.com/thanks">' in snippet
    assert f"https://orders.example.net/hooks/forms/{shop.event.form_token}" in page
    assert 'id="form-without-code"' in page


def test_it_names_the_fields_as_the_events_records_and_escapes_them(
    client: Client, team: Team
) -> None:
    shop = team.shop
    EventRecord.objects.create(
        project=shop.project,
        event=shop.event,
        data=[
            {"name": "Имя", "value": "x"},
            {"name": '"><script>alert(1)</script>', "value": "x"},
            {"name": "_utm", "value": "x"},
        ],
        received_at="2026-05-01T12:00:00Z",
    )
    Event.objects.filter(pk=shop.event.pk).update(name="<b>Call</b>")
    client.force_login(team.owner)
    page = client.get(integration(shop)).text
    assert "<script>alert(1)" not in page and "<b>Call</b>" not in page
    snippet = form_snippet(page)
    assert 'name="Имя"' in snippet
    # Escaped once more inside the snippet itself: the pasted form is valid HTML too.
    assert 'name="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in snippet
    assert "_utm" not in snippet


def test_it_offers_each_active_event(client: Client, team: Team) -> None:
    shop = team.shop
    quote = Event.objects.create(project=shop.project, name="Quote")
    Event.objects.create(project=shop.project, name="Old", is_active=False)
    client.force_login(team.owner)
    page = client.get(integration(shop) + f"?form_event={quote.pk}").text
    assert f"/f/{quote.key}" in form_snippet(page)
    assert "Old" not in page


def test_it_says_what_to_do_without_an_event(client: Client, team: Team) -> None:
    Event.objects.filter(pk=team.shop.event.pk).delete()
    client.force_login(team.owner)
    page = client.get(integration(team.shop)).text
    assert "its form address appears here" in page


def test_it_speaks_russian(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post("/language/", {"language": "ru", "next": "/"})
    page = client.get(integration(team.shop)).text
    assert "Форма без кода" in page
    assert "Отправить тестовую заявку" in page
    assert "Отправить</button>" in html.unescape(page)


def test_it_refuses_a_test_submission_to_viewers_and_outsiders(
    client: Client, team: Team, other_shop: Shop
) -> None:
    url = reverse("projects:test_submission", args=[team.shop.project.pk])
    client.force_login(team.viewer)
    assert (
        "Only owners and admins can send a test submission."
        in client.get(integration(team.shop)).text
    )
    assert client.post(url, {"event": team.shop.event.pk}).status_code == 403
    client.force_login(team.outsider)
    assert client.post(url, {"event": team.shop.event.pk}).status_code == 404
    client.force_login(team.owner)
    assert client.post(url, {"event": other_shop.event.pk}).status_code == 404
    assert client.post(url, {"event": "x"}).status_code == 404
    assert not EventRecord.objects.exists()


def test_it_says_when_a_test_submission_cannot_be_sent(client: Client, team: Team) -> None:
    Domain.objects.filter(pk=team.shop.domain.pk).update(is_active=False)
    client.force_login(team.owner)
    url = reverse("projects:test_submission", args=[team.shop.project.pk])
    response = client.post(url, {"event": team.shop.event.pk}, follow=True)
    assert "A test submission needs an active domain and an active event" in response.text


# --- A real test submission, through the live form endpoint ---------------------------------


@pytest.fixture
def live_team(team: Team, live_server: Any, settings: Any) -> Team:
    settings.BASE_URL = live_server.url
    return team


@live
def test_it_records_a_real_test_submission(client: Client, live_team: Team) -> None:
    shop = live_team.shop
    client.force_login(live_team.admin)
    url = reverse("projects:test_submission", args=[shop.project.pk])
    response = client.post(url, {"event": shop.event.pk}, follow=True)
    record = EventRecord.objects.get(project=shop.project)
    assert record.event_id == shop.event.pk and not record.spam
    assert record.origin == "https://example.com"
    assert record.data == [
        {"name": n, "value": TEST_SUBMISSION_VALUE} for n in ("name", "phone", "email", "comment")
    ]
    assert "The form address answered HTTP 201" in response.text
    assert reverse("events:record_detail", args=[shop.project.pk, record.pk]) in response.text
    # htmx gets the result alone, in place.
    again = client.post(url, {"event": shop.event.pk}, headers={"HX-Request": "true"})
    assert again.text.lstrip().startswith('<div id="form-test-result"')
    assert "HTTP 201" in again.text


@live
def test_its_form_works_unchanged(client: Client, live_team: Team) -> None:
    """The snippet, pasted as is, records through the real endpoint (posted by curl as a
    browser on the shop's domain would)."""
    shop = live_team.shop
    client.force_login(live_team.owner)
    snippet = form_snippet(client.get(integration(shop)).text)
    (action,) = re.findall(r'action="([^"]+)"', snippet)
    names = re.findall(r'name="([^"]+)"', snippet)
    (next_url,) = re.findall(r'name="_next" value="([^"]+)"', snippet)
    fields = {n: f"v-{n}" for n in names if not n.startswith("_")}
    fields["_next"] = html.unescape(next_url)
    fields["_gotcha"] = ""  # sent empty, as a browser sends a hidden field
    args = [a for n, v in fields.items() for a in ("--data-urlencode", f"{n}={v}")]
    command = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]
    command += ["-H", "Origin: https://example.com", "-H", "Accept: text/html", *args, action]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.stdout == "303 https://example.com/thanks", result.stdout
    record = EventRecord.objects.get(project=shop.project)
    assert record.data == [{"name": n, "value": f"v-{n}"} for n in names[:4]]


def test_the_old_webhook_address_stops_working_at_once(client: Client, team: Team) -> None:
    event = team.shop.event
    old = f"/hooks/forms/{event.form_token}"
    lead = {"Name": "Anna"}
    assert client.post(old, lead).status_code == 200  # and its lookup is now cached
    client.force_login(team.owner)
    client.post(rotate_url(team.shop))
    event.refresh_from_db()
    assert client.post(old, lead).status_code == 401
    assert client.post(f"/hooks/forms/{event.form_token}", lead).status_code == 200
    assert EventRecord.objects.filter(event=event).count() == 2
