"""The contract's event field table, and what an accepted event record stores."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from orderreport.events.models import EventRecord
from orderreport.projects.models import Event
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_invalid

GUIDE_DATA = [
    {"name": "Имя", "value": "Ruslan Garapov"},
    {"name": "Телефон", "value": "+998888214888"},
]


def rejected(api: Api, shop: Shop, body: Any) -> dict[str, list[str]]:
    errors = assert_invalid(api.event(body, shop.key.key))
    assert not EventRecord.objects.exists()
    return errors


def test_it_stores_the_record_with_its_request_metadata(api: Api, shop: Shop) -> None:
    before = timezone.now()
    body = {"event": shop.event.key, "data": [*GUIDE_DATA, {"name": "n", "value": 7}], "x": 1}
    response = api.event(
        body,
        shop.key.key,
        origin="https://www.example.com:8443",
        HTTP_USER_AGENT="Mozilla/5.0 (Event)",
        REMOTE_ADDR="2001:db8::5",
    )
    assert response.status_code == 201
    record = EventRecord.objects.get(pk=int(response.json()["id"]))
    assert response.json() == {"message": "Event tracked", "id": str(record.pk)}
    assert (record.project, record.event) == (shop.project, shop.event)
    assert record.data == [*GUIDE_DATA, {"name": "n", "value": "7"}]
    assert record.origin == "https://www.example.com:8443"
    assert record.client_ip == "2001:db8::5"
    assert record.user_agent == "Mozilla/5.0 (Event)"
    assert before <= record.received_at <= timezone.now()


def test_it_accepts_an_empty_data_array(api: Api, shop: Shop) -> None:
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key)
    assert response.status_code == 201
    assert EventRecord.objects.get().data == []


def test_it_records_every_submission_separately(api: Api, shop: Shop) -> None:
    body = {"event": shop.event.key, "data": GUIDE_DATA}
    ids = {api.event(body, shop.key.key).json()["id"] for _ in range(3)}
    assert len(ids) == 3
    assert EventRecord.objects.count() == 3


def test_it_accepts_the_longest_event_key(api: Api, shop: Shop) -> None:
    Event.objects.create(project=shop.project, name="Long", key="k" * 64)
    assert api.event({"event": "k" * 64, "data": []}, shop.key.key).status_code == 201


def test_it_requires_event_and_data(api: Api, shop: Shop) -> None:
    assert rejected(api, shop, {}) == {
        "event": ["This field is required."],
        "data": ["This field is required."],
    }


@pytest.mark.parametrize("data", [None, "", {}, "x", 5, [5], [None], [[]]])
def test_it_requires_data_to_be_an_array_of_objects(api: Api, shop: Shop, data: Any) -> None:
    errors = rejected(api, shop, {"event": shop.event.key, "data": data})
    assert set(errors) <= {"data", "data.0"}


@pytest.mark.parametrize("event", ["", None, 5, True, ["k"], {"k": 1}, "k" * 65])
def test_it_rejects_a_malformed_event_field(api: Api, shop: Shop, event: Any) -> None:
    assert list(rejected(api, shop, {"event": event, "data": []})) == ["event"]


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ({"name": "", "value": "v"}, "data.1.name"),
        ({"name": "n" * 256, "value": "v"}, "data.1.name"),
        ({"name": "n", "value": "v" * 10_001}, "data.1.value"),
        ({"name": "n", "value": None}, "data.1.value"),
        ({"name": "n", "value": False}, "data.1.value"),
        ({"name": "n"}, "data.1.value"),
    ],
)
def test_it_applies_the_data_item_rules(
    api: Api, shop: Shop, item: dict[str, Any], path: str
) -> None:
    body = {"event": shop.event.key, "data": [GUIDE_DATA[0], item]}
    assert list(rejected(api, shop, body)) == [path]


def test_it_accepts_100_data_items_and_rejects_101(api: Api, shop: Shop) -> None:
    item = {"name": "n", "value": "v"}
    assert list(rejected(api, shop, {"event": shop.event.key, "data": [item] * 101})) == ["data"]
    response = api.event({"event": shop.event.key, "data": [item] * 100}, shop.key.key)
    assert response.status_code == 201
