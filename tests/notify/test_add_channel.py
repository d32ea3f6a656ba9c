"""The new-channel page offers everything a channel can get, webhooks included."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.notify.models import Channel
from tests.conftest import Team


@pytest.fixture(autouse=True)
def _plain_static(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _add(team: Team, kind: str = "webhook") -> str:
    return reverse("notify:add", args=[team.shop.project.pk, kind])


def _checkbox(page: str, name: str, value: str | None = None) -> str:
    value_part = f'[^>]*value="{value}"' if value else ""
    match = re.search(rf'<input type="checkbox" name="{name}"{value_part}[^>]*>', page)
    assert match, f"no {name} checkbox"
    return match.group(0)


def test_it_offers_events_and_limit_warnings_on_a_new_webhook(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    page = client.get(_add(team)).text
    what = page[page.index('<fieldset id="what-to-send">') :]
    # Where it goes comes first, then what it gets: orders on, the rest offered.
    assert page.index('name="url"') < page.index('<fieldset id="what-to-send">')
    assert "checked" in _checkbox(what, "receives_orders")
    event = _checkbox(what, "events", str(team.shop.event.pk))
    assert "checked" not in event
    assert "Call-back" in what
    assert "checked" not in _checkbox(what, "receives_limits")
    assert "When orders reach 80 and 100 percent of the plan&#x27;s monthly limit." in what
    assert "checked" not in _checkbox(what, "receives_status_changes")

    response = client.post(
        _add(team),
        {
            "name": "CRM",
            "url": "https://crm.example.com/hook",
            "events": [team.shop.event.pk],
            "receives_limits": "on",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert (channel.receives_orders, channel.receives_limits) == (False, True)
    assert list(channel.events.all()) == [team.shop.event]


def test_it_says_where_to_add_an_event_key_when_there_is_none(client: Client, team: Team) -> None:
    team.shop.event.delete()
    client.force_login(team.owner)
    page = client.get(_add(team)).text
    assert "This project has no event keys yet." in page
    assert reverse("projects:events", args=[team.shop.project.pk]) in page


def test_it_offers_the_same_choices_in_russian(client: Client, team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    page = client.get(_add(team)).text
    assert "Что отправлять" in page
    assert "Заявки этих событий" in page
    assert "Предупреждения о лимите тарифа" in page  # noqa: RUF001
    assert "Когда заказы достигают 80 и 100 процентов месячного лимита тарифа." in page
