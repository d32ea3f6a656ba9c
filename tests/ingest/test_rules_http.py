"""The recording rules end to end: something deleted between the key check and the insert.

Part of the contract suite of test_rules.py, through the API as production serves it (the `api`
fixture). The key check reads the key from the cache; the owner may delete or switch off the
key, the project, the account or the event a moment later, before the order or record reaches
the database. The rules "key gone", "event gone" and "event inactive" (ingest/__init__.py)
then answer as the checks would have, with the same 401 on both databases, and store, count
and queue nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orderreport.accounts.models import Account, Usage
from orderreport.events.models import EventRecord
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Event, Project
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, limit_to
from tests.notify.conftest import webhook_channel

Change = Callable[[Shop], None]


def after_the_key_check(monkeypatch: pytest.MonkeyPatch, change: Change, shop: Shop) -> list[Any]:
    """Run `change` right after the request's key check; returns what each check answered."""
    from orderreport.ingest import http

    admit = http.admit
    admitted: list[Any] = []

    def admit_then_change(raw_key: str, client_ip: str) -> Any:
        answer = admit(raw_key, client_ip)
        admitted.append(answer[0])
        change(shop)  # the owner, in another tab, right now
        return answer

    monkeypatch.setattr(http, "admit", admit_then_change)
    return admitted


KEY_GONE: dict[str, Change] = {
    "key-deleted": lambda shop: ApiKey.objects.filter(pk=shop.key.pk).delete(),
    "key-deactivated": lambda shop: ApiKey.objects.filter(pk=shop.key.pk).update(is_active=False),
    "project-deleted": lambda shop: Project.objects.filter(pk=shop.project.pk).delete(),
    "account-deleted": lambda shop: Account.objects.filter(pk=shop.account.pk).delete(),
}


def assert_nothing_recorded(shop: Shop) -> None:
    assert not Order.objects.exists()
    assert not EventRecord.objects.exists()
    assert not Usage.objects.filter(account_id=shop.account.pk, used__gt=0).exists()
    assert not LimitWarning.objects.exists()
    assert not Delivery.objects.exists()


@pytest.fixture
def listening(shop: Shop) -> Shop:
    """The shop with a channel that would hear of every order, record and limit warning."""
    channel = webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    channel.events.add(shop.event)
    limit_to(shop, 1)  # the order would also cross both warning thresholds
    return shop


@pytest.mark.parametrize("change", KEY_GONE.values(), ids=KEY_GONE.keys())
def test_an_order_whose_key_goes_mid_request_gets_401(
    api: Api, listening: Shop, monkeypatch: pytest.MonkeyPatch, change: Change
) -> None:
    shop = listening
    admitted = after_the_key_check(monkeypatch, change, shop)
    response = api.order({"id": "late", "total": 1}, shop.key.key, origin=shop.origin)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")
    assert response["Access-Control-Allow-Origin"] == shop.origin
    assert admitted and admitted[0] is not None  # the key check itself had passed
    assert_nothing_recorded(shop)


@pytest.mark.parametrize("change", KEY_GONE.values(), ids=KEY_GONE.keys())
def test_an_event_record_whose_key_goes_mid_request_gets_401(
    api: Api, listening: Shop, monkeypatch: pytest.MonkeyPatch, change: Change
) -> None:
    shop = listening
    admitted = after_the_key_check(monkeypatch, change, shop)
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key, origin=shop.origin)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")
    assert admitted and admitted[0] is not None
    assert_nothing_recorded(shop)


EVENT_CHANGES = {
    "event-deleted": (
        lambda shop: Event.objects.filter(pk=shop.event.pk).delete(),
        "Invalid event key",
        "invalid_event_key",
    ),
    "event-deactivated": (
        lambda shop: Event.objects.filter(pk=shop.event.pk).update(is_active=False),
        "Event is not active",
        "event_inactive",
    ),
}


@pytest.mark.parametrize(("change", "message", "code"), EVENT_CHANGES.values(), ids=EVENT_CHANGES)
def test_an_event_record_whose_event_goes_mid_request_gets_401(
    api: Api,
    listening: Shop,
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
    message: str,
    code: str,
) -> None:
    shop = listening
    admitted = after_the_key_check(monkeypatch, change, shop)
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key, origin=shop.origin)
    assert_error(response, 401, message, code)
    assert admitted and shop.event.key in admitted[0].events  # the event was known then
    assert_nothing_recorded(shop)


def test_the_same_requests_are_recorded_when_nothing_goes(
    api: Api, listening: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: the patched key check alone changes nothing.
    shop = listening
    after_the_key_check(monkeypatch, lambda shop: None, shop)
    order = api.order({"id": "late", "total": 1}, shop.key.key, origin=shop.origin)
    assert order.status_code == 201, order.content
    event = api.event({"event": shop.event.key, "data": []}, shop.key.key, origin=shop.origin)
    assert event.status_code == 201, event.content
    assert Order.objects.filter(external_id="late").exists()
    assert EventRecord.objects.count() == 1
