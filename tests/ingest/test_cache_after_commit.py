"""Changes made in a transaction reach the API's key cache when they commit.

A dashboard change runs in a transaction; meanwhile another process's request may reload the
key from the database (still the old rows) and cache them again. The invalidation repeated
after commit (orderreport/ingest/signals.py) is what keeps that stale entry from living on
until its TTL. These tests play that other request in a thread with its own connection.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone

from orderreport.accounts.services import set_plan
from orderreport.ingest.lookup import KeyInfo, get_key_info
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order, plan_with_limit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def meanwhile(raw_key: str) -> KeyInfo | None:
    """What another process's request finds for the key now (and leaves in the cache)."""
    found: dict[str, Any] = {}

    def run() -> None:
        try:
            found["info"] = get_key_info(raw_key)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return found["info"]


def accepted(api: Api, shop: Shop, order_id: str, **kwargs: Any) -> None:
    response = api.order(order(order_id), shop.key.key, **kwargs)
    assert response.status_code == 201, response.content


def test_it_refuses_a_key_deactivated_in_a_transaction_right_after_commit(
    api: Api, shop: Shop
) -> None:
    accepted(api, shop, "1")
    with transaction.atomic():
        shop.key.is_active = False
        shop.key.save()
        # Not before: until the commit the rest of the world still sees an active key.
        assert meanwhile(shop.key.key) is not None
    # Not stale after: the entry the other request cached is gone.
    assert meanwhile(shop.key.key) is None
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_it_refuses_a_domain_removed_in_a_transaction_right_after_commit(
    api: Api, shop: Shop
) -> None:
    accepted(api, shop, "1")
    with transaction.atomic():
        shop.domain.delete()
        info = meanwhile(shop.key.key)
        assert info is not None and shop.domain.host in info.domains
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


def test_it_counts_against_a_plan_changed_in_a_transaction_right_after_commit(
    api: Api, shop: Shop
) -> None:
    set_plan(shop.account, plan_with_limit(1))
    accepted(api, shop, "1")
    assert_error(
        api.order(order("2"), shop.key.key),
        402,
        "Monthly order limit reached for this account.",
        "order_limit_reached",
    )
    with transaction.atomic():
        set_plan(shop.account, plan_with_limit(5))
        assert meanwhile(shop.key.key) is not None
    accepted(api, shop, "3")


def test_it_follows_an_account_saved_in_a_transaction_right_after_commit(
    api: Api, shop: Shop
) -> None:
    # The cached key carries the account's billing anchor (which month an order counts in):
    # saving the account must replace it, also when a request cached the old one meanwhile.
    today = timezone.now().date()
    shop.account.billing_anchor = today
    shop.account.save()
    set_plan(shop.account, plan_with_limit(1))
    accepted(api, shop, "1")
    assert api.order(order("2"), shop.key.key).status_code == 402
    with transaction.atomic():
        shop.account.billing_anchor = today - dt.timedelta(days=10)
        shop.account.save()
        stale = meanwhile(shop.key.key)
        assert stale is not None and stale.billing_anchor == today
    info = meanwhile(shop.key.key)
    assert info is not None and info.billing_anchor == today - dt.timedelta(days=10)
    accepted(api, shop, "2")  # a new billing period: its first order
