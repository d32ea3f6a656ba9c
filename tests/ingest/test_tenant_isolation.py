"""A key records only into its own project; nothing of another tenant is reachable."""

from __future__ import annotations

import pytest

from orderreport.accounts.services import orders_used
from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order


def test_it_cannot_record_into_another_shop_with_its_domain(
    api: Api, shop: Shop, other_shop: Shop
) -> None:
    response = api.order(order("a"), shop.key.key, origin=other_shop.origin)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = api.event(
        {"event": other_shop.event.key, "data": []}, shop.key.key, origin=other_shop.origin
    )
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    assert not Order.objects.exists()
    assert not EventRecord.objects.exists()


def test_it_records_into_the_keys_own_project_only(api: Api, shop: Shop, other_shop: Shop) -> None:
    # Both shops allow one more domain in common: the key alone decides the project.
    other_shop.domain.host = shop.domain.host
    other_shop.domain.save()
    assert api.order(order("same-id", total=1), shop.key.key).status_code == 201
    assert api.order(order("same-id", total=2), other_shop.key.key).status_code == 201
    mine = Order.objects.get(project=shop.project)
    theirs = Order.objects.get(project=other_shop.project)
    assert (mine.total, theirs.total) == (1, 2)
    assert (orders_used(shop.account), orders_used(other_shop.account)) == (1, 1)


def test_it_keeps_order_ids_per_project(api: Api, shop: Shop, other_shop: Shop) -> None:
    assert api.order(order("o-1"), other_shop.key.key, origin=other_shop.origin).status_code == 201
    # The same id in another tenant is neither a duplicate nor a way to touch theirs.
    assert api.order(order("o-1", total=7), shop.key.key).status_code == 201
    assert Order.objects.get(project=other_shop.project).total == 1000


def test_it_treats_another_projects_event_key_as_invalid(
    api: Api, shop: Shop, other_shop: Shop
) -> None:
    response = api.event({"event": other_shop.event.key, "data": []}, shop.key.key)
    assert_error(response, 401, "Invalid event key", "invalid_event_key")
    assert not EventRecord.objects.exists()


def test_it_stores_events_under_the_keys_project(api: Api, shop: Shop, other_shop: Shop) -> None:
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key)
    assert response.status_code == 201
    record = EventRecord.objects.get()
    assert (record.project, record.event) == (shop.project, shop.event)
    # Another tenant's event key (unique across projects: forms post to /f/<key>) is not an
    # event of this key's project.
    refused = api.event({"event": other_shop.event.key, "data": []}, shop.key.key)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_event_key")
    assert EventRecord.objects.count() == 1


def test_event_keys_are_unique_across_projects(shop: Shop, other_shop: Shop) -> None:
    from django.db import IntegrityError, transaction

    other_shop.event.key = shop.event.key
    with pytest.raises(IntegrityError), transaction.atomic():
        other_shop.event.save()


def test_it_does_not_charge_another_account(api: Api, shop: Shop, other_shop: Shop) -> None:
    for n in range(3):
        api.order(order(f"o{n}"), shop.key.key)
    assert orders_used(other_shop.account) == 0
