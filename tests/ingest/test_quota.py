"""The plan's monthly order limit: exactly N orders per billing period and account."""

from __future__ import annotations

import datetime as dt

from orderreport.accounts.billing import billing_period
from orderreport.accounts.models import HeldOrder, Plan, Usage
from orderreport.accounts.services import get_plan, orders_used, set_plan
from orderreport.events.models import EventRecord
from orderreport.ingest.lookup import get_key_info
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.record import record_order
from orderreport.ingest.rows import Outcome
from orderreport.ingest.schemas import OrderPayload
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Domain, Project
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order, plan_with_limit

LIMIT_MESSAGE = "Monthly order limit reached for this account."


def limit_to(shop: Shop, limit: int | None) -> None:
    set_plan(shop.account, plan_with_limit(limit))


def assert_over_limit(response: object) -> None:
    assert_error(response, 402, LIMIT_MESSAGE, "order_limit_reached")


def test_it_accepts_exactly_the_plans_limit(api: Api, shop: Shop) -> None:
    limit_to(shop, 3)
    for n in range(3):
        assert api.order(order(f"o{n}"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("o3"), shop.key.key))
    assert_over_limit(api.order(order("o4"), shop.key.key))
    assert Order.objects.count() == 3
    assert orders_used(shop.account) == 3


def test_it_counts_the_free_plans_100_orders(api: Api, shop: Shop) -> None:
    assert get_plan("free").monthly_order_limit == 100
    for n in range(100):
        assert api.order(order(f"o{n}"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("o100"), shop.key.key))


def test_it_charges_nothing_for_rejected_or_duplicate_orders(api: Api, shop: Shop) -> None:
    limit_to(shop, 2)
    assert api.order(order("first"), shop.key.key).status_code == 201
    assert api.order({"id": "bad", "total": -1}, shop.key.key).status_code == 422
    assert api.order(b"{", shop.key.key).status_code == 422
    assert api.order(order(), shop.key.key, origin="https://evil.example").status_code == 403
    assert api.order(order("first"), shop.key.key).status_code == 409
    assert api.order(order("first"), shop.key.key).status_code == 409
    assert orders_used(shop.account) == 1
    assert api.order(order("second"), shop.key.key).status_code == 201
    assert orders_used(shop.account) == 2


def test_it_charges_nothing_for_events(api: Api, shop: Shop) -> None:
    limit_to(shop, 1)
    for _ in range(3):
        assert api.event({"event": shop.event.key, "data": []}, shop.key.key).status_code == 201
    assert EventRecord.objects.count() == 3
    assert orders_used(shop.account) == 0
    assert api.order(order(), shop.key.key).status_code == 201


def test_it_answers_402_before_409_when_both_apply(api: Api, shop: Shop) -> None:
    limit_to(shop, 2)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert_error(
        api.order(order("a"), shop.key.key),
        409,
        "Order with this id already exists",
        "duplicate_order",
    )
    assert api.order(order("b"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("a"), shop.key.key))
    assert orders_used(shop.account) == 2


def test_it_counts_every_project_of_the_account_together(api: Api, shop: Shop) -> None:
    limit_to(shop, 3)
    second = Project.objects.create(account=shop.account, name="Second shop")
    Domain.objects.create(project=second, host="second.example")
    second_key = ApiKey.objects.create(project=second)
    second_origin = "https://second.example"
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert api.order(order("a"), second_key.key, origin=second_origin).status_code == 201
    assert api.order(order("b"), second_key.key, origin=second_origin).status_code == 201
    assert_over_limit(api.order(order("c"), shop.key.key))
    assert_over_limit(api.order(order("c"), second_key.key, origin=second_origin))
    assert orders_used(shop.account) == 3


def test_it_leaves_other_accounts_alone(api: Api, shop: Shop, other_shop: Shop) -> None:
    limit_to(shop, 1)
    limit_to(other_shop, 2)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("b"), shop.key.key))
    other = {"origin": other_shop.origin}
    assert api.order(order("a"), other_shop.key.key, **other).status_code == 201
    assert api.order(order("b"), other_shop.key.key, **other).status_code == 201
    assert_over_limit(api.order(order("c"), other_shop.key.key, **other))
    assert (orders_used(shop.account), orders_used(other_shop.account)) == (1, 2)


def test_it_starts_a_new_period_at_zero(api: Api, shop: Shop) -> None:
    limit_to(shop, 2)
    start, _end = shop.account.current_period()
    previous_start, previous_end = billing_period(
        shop.account.billing_anchor, start - dt.timedelta(days=1)
    )
    assert previous_end == start
    Usage.objects.create(account=shop.account, period_start=previous_start, used=2)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert Usage.objects.get(account=shop.account, period_start=start).used == 1
    assert Usage.objects.get(account=shop.account, period_start=previous_start).used == 2


def test_it_counts_the_period_of_the_accounts_anchor(shop: Shop) -> None:
    limit_to(shop, 1)
    shop.account.billing_anchor = dt.date(2026, 1, 31)
    shop.account.save()

    def record(order_id: str, when: dt.datetime) -> Outcome:
        meta = RequestMeta(origin=shop.origin, client_ip=None, user_agent="", received_at=when)
        payload = OrderPayload.model_validate(order(order_id))
        info = get_key_info(shop.key.key)
        assert info is not None
        return record_order(info, payload, meta).outcome

    utc = dt.UTC
    assert record("jan", dt.datetime(2026, 2, 27, 23, 59, tzinfo=utc)) is Outcome.CREATED
    assert record("jan-2", dt.datetime(2026, 2, 1, tzinfo=utc)) is Outcome.LIMIT_REACHED
    assert record("feb", dt.datetime(2026, 2, 28, 0, 0, tzinfo=utc)) is Outcome.CREATED
    assert record("feb-2", dt.datetime(2026, 3, 30, tzinfo=utc)) is Outcome.LIMIT_REACHED
    assert record("mar", dt.datetime(2026, 3, 31, tzinfo=utc)) is Outcome.CREATED
    assert sorted(Usage.objects.values_list("period_start", "used")) == [
        (dt.date(2026, 1, 31), 1),
        (dt.date(2026, 2, 28), 1),
        (dt.date(2026, 3, 31), 1),
    ]


def test_it_takes_a_plan_change_into_account_at_once(api: Api, shop: Shop) -> None:
    limit_to(shop, 1)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("b"), shop.key.key))
    # The larger plan releases the held "b" at once, and has room for one more.
    limit_to(shop, 3)
    assert api.order(order("c"), shop.key.key).status_code == 201
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["a", "b", "c"]


def test_a_402_keeps_the_order_held_and_its_retries_get_402_then_201_then_409(
    api: Api, shop: Shop
) -> None:
    limit_to(shop, 1)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert_over_limit(api.order(order("b", total=5), shop.key.key))
    assert_over_limit(api.order(order("b", total=6), shop.key.key))
    assert list(HeldOrder.objects.values_list("external_id", "total")) == [("b", 5)]
    assert not Order.objects.filter(external_id="b").exists()
    # Room without a release (the plan's limit edited in place): the retry is recorded.
    Plan.objects.filter(pk=shop.account.plan_id).update(monthly_order_limit=3)
    assert api.order(order("b", total=7), shop.key.key).status_code == 201
    assert not HeldOrder.objects.exists()
    response = api.order(order("b", total=8), shop.key.key)
    assert_error(response, 409, "Order with this id already exists", "duplicate_order")
    assert Order.objects.get(external_id="b").total == 7
    assert orders_used(shop.account) == 2


def test_it_never_limits_the_unlimited_plan(api: Api, shop: Shop) -> None:
    set_plan(shop.account, get_plan("unlimited"))
    start, _end = shop.account.current_period()
    Usage.objects.create(account=shop.account, period_start=start, used=2_000_000_000)
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert orders_used(shop.account) == 2_000_000_001


def test_it_accepts_nothing_on_a_zero_limit(api: Api, shop: Shop) -> None:
    limit_to(shop, 0)
    assert_over_limit(api.order(order("a"), shop.key.key))
    assert not Order.objects.exists()
    assert not Usage.objects.filter(used__gt=0).exists()  # nothing counted
