"""The recording rules of ingest/__init__.py: one contract suite, run on both databases.

Every rule is checked through `record_in_transaction`, which runs the database's own batch
statement (ingest/postgres.py or ingest/sqlite.py) inside the test's transaction, so each
outcome is deterministic; `make test-postgres` and `make test-sqlite` run these same tests.

This file: the outcome each item of a batch gets (own row, key gone, event gone, event
inactive, limit, duplicate, record) and what it does to the quota: the limit exact at its edge,
402 before 409, duplicates, retries that find their own row, keys, projects, accounts and
events gone. What a recorded item stores and queues (fields, outbox, limit warnings, billing
periods): test_rules_stored.py. The same rules through the API when something is deleted
mid-request: test_rules_http.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from orderreport.accounts.billing import billing_period
from orderreport.accounts.models import Usage
from orderreport.accounts.services import orders_used
from orderreport.events.models import EventRecord
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import OrderItem, Outcome, Result
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Event, Project
from tests.conftest import Shop, make_shop
from tests.ingest.helpers import (
    event_item,
    limit_to,
    order_item,
    order_row,
    outcomes,
    stored_ids,
    used,
)
from tests.notify.conftest import webhook_channel

CREATED, DUPLICATE, LIMIT = Outcome.CREATED, Outcome.DUPLICATE, Outcome.LIMIT_REACHED
KEY_GONE, EVENT_GONE = Outcome.KEY_GONE, Outcome.EVENT_GONE
EVENT_INACTIVE = Outcome.EVENT_INACTIVE


def period_of(shop: Shop) -> dt.date:
    return shop.account.current_period()[0]


def previous_period(shop: Shop) -> dt.date:
    start, end = billing_period(shop.account.billing_anchor, period_of(shop) - dt.timedelta(1))
    assert end == period_of(shop)
    return start


def in_project(shop: Shop, project: Project, external_id: str) -> OrderItem:
    """An order of another project of the shop's account (through a key of that project)."""
    key = ApiKey.objects.get_or_create(project=project, defaults={"name": "Second site"})[0]
    return OrderItem(
        key_id=key.pk,
        account_id=shop.account.pk,
        period_start=period_of(shop),
        row=order_row(shop, external_id, project_id=project.pk),
    )


# --- The limit, exact at its edge -------------------------------------------------------------

EDGE = [pytest.param(2, id="limit-1"), pytest.param(3, id="limit"), pytest.param(4, id="limit+1")]


@pytest.mark.parametrize("sent", EDGE)
def test_the_limit_holds_exactly_within_one_batch(shop: Shop, sent: int) -> None:
    limit_to(shop, 3)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(sent)])
    accepted = min(sent, 3)
    assert outcomes(results) == [CREATED] * accepted + [LIMIT] * (sent - accepted)
    assert [r.record_id for r in results[accepted:]] == [None] * (sent - accepted)
    assert stored_ids(shop) == [f"o{n}" for n in range(accepted)]
    assert used(shop) == accepted == orders_used(shop.account)


@pytest.mark.parametrize("sent", EDGE)
def test_the_limit_holds_exactly_across_batches(shop: Shop, sent: int) -> None:
    limit_to(shop, 3)
    results = [record_in_transaction([order_item(shop, f"o{n}")])[0] for n in range(sent)]
    accepted = min(sent, 3)
    assert outcomes(results) == [CREATED] * accepted + [LIMIT] * (sent - accepted)
    assert stored_ids(shop) == [f"o{n}" for n in range(accepted)]
    assert used(shop) == accepted == orders_used(shop.account)


def test_a_batch_continues_from_what_the_period_already_used(shop: Shop) -> None:
    limit_to(shop, 3)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=2)
    results = record_in_transaction([order_item(shop, "a"), order_item(shop, "b")])
    assert outcomes(results) == [CREATED, LIMIT]  # the last unit goes to the first to arrive
    assert stored_ids(shop) == ["a"]
    assert used(shop) == 3


def test_a_zero_limit_accepts_nothing_and_counts_nothing(shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 0)
    results = record_in_transaction([order_item(shop, "a"), order_item(shop, "b")])
    assert outcomes(results) == [LIMIT, LIMIT]
    assert not Order.objects.exists()
    assert not Usage.objects.filter(used__gt=0).exists()
    assert not Delivery.objects.exists()


def test_an_unlimited_plan_accepts_every_order(shop: Shop) -> None:
    limit_to(shop, None)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=2_000_000_000)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(5)])
    assert outcomes(results) == [CREATED] * 5
    assert used(shop) == 2_000_000_005
    assert not Delivery.objects.filter(topic="limit").exists()


def test_each_account_of_a_batch_is_counted_against_its_own_limit(
    shop: Shop, other_shop: Shop
) -> None:
    unlimited = make_shop(domain="unlimited.example")
    limit_to(shop, 1)
    limit_to(other_shop, 3)
    limit_to(unlimited, None)
    batch = [
        order_item(shop, "o1"),
        order_item(other_shop, "o1"),
        order_item(unlimited, "o1"),
        order_item(shop, "o2"),
        order_item(other_shop, "o2"),
        order_item(other_shop, "o2"),
        order_item(shop, "o3"),
        order_item(other_shop, "o3"),
        order_item(other_shop, "o4"),
        order_item(unlimited, "o2"),
    ]
    assert outcomes(record_in_transaction(batch)) == [
        *(CREATED, CREATED, CREATED),
        *(LIMIT, CREATED, DUPLICATE),
        *(LIMIT, CREATED, LIMIT),
        CREATED,
    ]
    assert stored_ids(shop) == ["o1"]
    assert stored_ids(other_shop) == ["o1", "o2", "o3"]
    assert stored_ids(unlimited) == ["o1", "o2"]
    assert (used(shop), used(other_shop), used(unlimited)) == (1, 3, 2)


def test_each_period_of_a_batch_has_its_own_quota(shop: Shop) -> None:
    limit_to(shop, 2)
    current, previous = period_of(shop), previous_period(shop)
    Usage.objects.create(account=shop.account, period_start=previous, used=1)
    batch = [
        order_item(shop, "late-1", previous),
        order_item(shop, "new-1", current),
        order_item(shop, "late-2", previous),
        order_item(shop, "new-2", current),
        order_item(shop, "new-3", current),
        # Ids are unique per project whatever the period: a duplicate, and its period is full.
        order_item(shop, "new-1", previous),
    ]
    assert outcomes(record_in_transaction(batch)) == [
        *(CREATED, CREATED, LIMIT),
        *(CREATED, LIMIT, LIMIT),
    ]
    assert stored_ids(shop) == ["late-1", "new-1", "new-2"]
    assert (used(shop, previous), used(shop, current)) == (2, 2)


# --- 402 before 409 ---------------------------------------------------------------------------


def test_a_duplicate_gets_402_once_the_limit_is_reached_at_its_place(shop: Shop) -> None:
    limit_to(shop, 1)
    batch = [order_item(shop, "a"), order_item(shop, "a"), order_item(shop, "b")]
    assert outcomes(record_in_transaction(batch)) == [CREATED, LIMIT, LIMIT]
    assert stored_ids(shop) == ["a"]
    assert used(shop) == 1


def test_a_duplicate_gets_409_while_there_is_room_at_its_place(shop: Shop) -> None:
    limit_to(shop, 2)
    batch = [order_item(shop, "a"), order_item(shop, "a"), order_item(shop, "b")]
    assert outcomes(record_in_transaction(batch)) == [CREATED, DUPLICATE, CREATED]
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


def test_an_id_stored_before_is_a_duplicate_while_there_is_room_at_its_place(shop: Shop) -> None:
    limit_to(shop, 2)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [CREATED]
    # Its place in the batch decides: before the last unit of quota is taken, 409 ...
    batch = [order_item(shop, "a"), order_item(shop, "b")]
    assert outcomes(record_in_transaction(batch)) == [DUPLICATE, CREATED]
    assert used(shop) == 2


def test_an_id_stored_before_gets_402_once_there_is_no_room(shop: Shop) -> None:
    limit_to(shop, 2)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [CREATED]
    # ... after it, 402 (the contract checks the limit before the id).
    batch = [order_item(shop, "b"), order_item(shop, "a")]
    assert outcomes(record_in_transaction(batch)) == [CREATED, LIMIT]
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [LIMIT]
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


# --- Duplicates -------------------------------------------------------------------------------


def test_an_id_stored_before_is_a_duplicate(shop: Shop) -> None:
    hook = webhook_channel(shop, "https://example.com/hook")
    [first] = record_in_transaction([order_item(shop, "a", total=100)])
    [again] = record_in_transaction([order_item(shop, "a", total=999)])
    assert again == Result(DUPLICATE, None)
    assert Order.objects.get(project=shop.project).total == 100  # the first one is kept
    assert used(shop) == 1
    assert list(Delivery.objects.values_list("channel_id", "order_id")) == [
        (hook.pk, first.record_id)
    ]


def test_the_same_id_twice_in_one_batch_is_stored_once(shop: Shop) -> None:
    results = record_in_transaction([order_item(shop, "a"), order_item(shop, "a")])
    assert outcomes(results) == [CREATED, DUPLICATE]
    assert results[1].record_id is None
    assert Order.objects.get(project=shop.project).pk == results[0].record_id
    assert used(shop) == 1


def test_the_same_id_in_two_projects_is_two_orders(shop: Shop, other_shop: Shop) -> None:
    second = Project.objects.create(account=shop.account, name="Second shop")
    batch = [order_item(shop, "a"), in_project(shop, second, "a"), order_item(other_shop, "a")]
    assert outcomes(record_in_transaction(batch)) == [CREATED] * 3
    later = [in_project(shop, second, "b"), order_item(shop, "b")]  # and across batches
    assert outcomes(record_in_transaction(later)) == [CREATED] * 2
    assert Order.objects.filter(external_id="a").count() == 3
    assert Order.objects.filter(project=second).count() == 2
    assert (used(shop), used(other_shop)) == (4, 1)


def test_a_duplicate_across_periods_is_a_duplicate_while_its_period_has_room(shop: Shop) -> None:
    previous, current = previous_period(shop), period_of(shop)
    batch = [order_item(shop, "x", previous), order_item(shop, "x", current)]
    assert outcomes(record_in_transaction(batch)) == [CREATED, DUPLICATE]
    assert (used(shop, previous), used(shop, current)) == (1, 0)


def test_a_copy_refused_for_its_key_does_not_make_the_next_a_duplicate(shop: Shop) -> None:
    # The project's old key is deleted while one of its orders is on the way; the same order
    # then comes in through the site's current key, in the same batch.
    old = ApiKey.objects.create(project=shop.project, name="Old site")
    late = OrderItem(old.pk, shop.account.pk, period_of(shop), order_row(shop, "a"))
    old.delete()
    results = record_in_transaction([late, order_item(shop, "a")])
    # Nothing was stored before the second copy: a 409 would tell the shop it was.
    assert outcomes(results) == [KEY_GONE, CREATED]
    assert stored_ids(shop) == ["a"]
    assert used(shop) == 1


def test_a_copy_refused_for_a_full_period_does_not_make_the_next_a_duplicate(shop: Shop) -> None:
    # At the turn of the billing period: the old period is full, the new one has room.
    limit_to(shop, 1)
    previous, current = previous_period(shop), period_of(shop)
    Usage.objects.create(account=shop.account, period_start=previous, used=1)
    results = record_in_transaction(
        [order_item(shop, "x", previous), order_item(shop, "x", current)]
    )
    assert outcomes(results) == [LIMIT, CREATED]
    assert stored_ids(shop) == ["x"]
    assert (used(shop, previous), used(shop, current)) == (1, 1)


# --- Own row: a retry that finds what its first attempt stored --------------------------------

RETRY = [pytest.param(False, id="first-attempt"), pytest.param(True, id="retry")]


@pytest.mark.parametrize("retry", RETRY)
def test_an_order_whose_row_exists_is_created_with_that_row(shop: Shop, retry: bool) -> None:
    hook = webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 10)
    item = order_item(shop, "a")
    [first] = record_in_transaction([item])
    again = record_in_transaction([item], retry=retry)
    assert again == [Result(CREATED, first.record_id)]
    assert Order.objects.get().pk == first.record_id
    assert used(shop) == 1  # not counted twice
    assert list(Delivery.objects.values_list("channel_id", "topic", "order_id")) == [
        (hook.pk, "order", first.record_id)  # not delivered twice
    ]


@pytest.mark.parametrize("retry", RETRY)
def test_an_own_row_takes_no_quota_from_the_rest_of_its_batch(shop: Shop, retry: bool) -> None:
    limit_to(shop, 2)
    item = order_item(shop, "a")
    [first] = record_in_transaction([item])
    results = record_in_transaction(
        [item, order_item(shop, "b"), order_item(shop, "c")], retry=retry
    )
    assert results[0] == Result(CREATED, first.record_id)
    assert outcomes(results[1:]) == [CREATED, LIMIT]
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


def _fill_quota(shop: Shop) -> None:
    Usage.objects.filter(account=shop.account).update(used=1)
    limit_to(shop, 1)


def _key_off(shop: Shop) -> None:
    ApiKey.objects.filter(pk=shop.key.pk).update(is_active=False)


def _key_deleted(shop: Shop) -> None:
    ApiKey.objects.filter(pk=shop.key.pk).delete()


SINCE = {"quota-full": _fill_quota, "key-deactivated": _key_off, "key-deleted": _key_deleted}


@pytest.mark.parametrize("retry", RETRY)
@pytest.mark.parametrize("since", SINCE.values(), ids=SINCE.keys())
def test_the_own_row_rule_comes_before_every_other(
    shop: Shop, retry: bool, since: Callable[[Shop], None]
) -> None:
    # The first attempt was stored; whatever happened since, its retry learns exactly that.
    limit_to(shop, 5)
    item = order_item(shop, "a")
    [first] = record_in_transaction([item])
    since(shop)
    assert record_in_transaction([item], retry=retry) == [Result(CREATED, first.record_id)]
    assert Order.objects.count() == 1
    assert used(shop) == 1


def test_a_new_request_with_a_stored_id_is_a_duplicate(shop: Shop) -> None:
    # After a 503 "outcome unknown" the client sends the order again: a new request, a new
    # tag. A 409 tells it the first one was stored.
    [first] = record_in_transaction([order_item(shop, "a")])
    assert record_in_transaction([order_item(shop, "a")], retry=True) == [Result(DUPLICATE)]
    assert Order.objects.get().pk == first.record_id


def test_an_event_record_whose_row_exists_is_created_with_that_row_on_retry(shop: Shop) -> None:
    channel = webhook_channel(shop, "https://example.com/hook")
    channel.events.add(shop.event)
    item = event_item(shop)
    [first] = record_in_transaction([item])
    results = record_in_transaction([item, event_item(shop)], retry=True)
    assert results[0] == Result(CREATED, first.record_id)
    assert results[1].created and results[1].record_id != first.record_id
    assert EventRecord.objects.count() == 2
    assert sorted(Delivery.objects.values_list("event_record_id", flat=True)) == sorted(
        [first.record_id, results[1].record_id]
    )


@pytest.mark.parametrize("since", [_key_off, _key_deleted], ids=["key-deactivated", "key-deleted"])
def test_an_event_records_own_row_comes_before_key_gone(
    shop: Shop, since: Callable[[Shop], None]
) -> None:
    item = event_item(shop)
    [first] = record_in_transaction([item])
    since(shop)
    assert record_in_transaction([item], retry=True) == [Result(CREATED, first.record_id)]
    assert EventRecord.objects.count() == 1


# --- Key gone ---------------------------------------------------------------------------------


def _project_deleted(shop: Shop) -> None:
    Project.objects.filter(pk=shop.project.pk).delete()


def _account_deleted(shop: Shop) -> None:
    type(shop.account).objects.filter(pk=shop.account.pk).delete()


GONE = {
    "key-deleted": _key_deleted,
    "key-deactivated": _key_off,
    "project-deleted": _project_deleted,
    "account-deleted": _account_deleted,
}


@pytest.mark.parametrize("gone", GONE.values(), ids=GONE.keys())
def test_an_order_whose_key_is_gone_is_refused_and_takes_no_quota(
    shop: Shop, other_shop: Shop, gone: Callable[[Shop], None]
) -> None:
    webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 1)
    limit_to(other_shop, 2)
    late = [order_item(shop, "a"), order_item(shop, "b")]
    gone(shop)
    batch = [late[0], order_item(other_shop, "a"), late[1], order_item(other_shop, "b")]
    results = record_in_transaction([*batch, order_item(other_shop, "c")])
    # A refused order takes no quota: the other account's limit of 2 goes to a and b.
    assert outcomes(results) == [KEY_GONE, CREATED, KEY_GONE, CREATED, LIMIT]
    assert results[0].record_id is None
    assert not Order.objects.filter(project_id=shop.project.pk).exists()
    assert not Usage.objects.filter(account_id=shop.account.pk, used__gt=0).exists()
    assert not Delivery.objects.filter(order__project_id=shop.project.pk).exists()
    assert not LimitWarning.objects.filter(account_id=shop.account.pk).exists()
    assert stored_ids(other_shop) == ["a", "b"]
    assert used(other_shop) == 2


@pytest.mark.parametrize("gone", GONE.values(), ids=GONE.keys())
def test_an_event_record_whose_key_is_gone_is_refused(
    shop: Shop, other_shop: Shop, gone: Callable[[Shop], None]
) -> None:
    channel = webhook_channel(shop, "https://example.com/hook")
    channel.events.add(shop.event)
    late = event_item(shop)
    gone(shop)
    results = record_in_transaction([late, event_item(other_shop)])
    assert outcomes(results) == [KEY_GONE, CREATED]
    assert results[0].record_id is None
    assert list(EventRecord.objects.values_list("project_id", flat=True)) == [other_shop.project.pk]
    assert not Delivery.objects.exists()


def test_key_gone_comes_before_the_limit_and_the_duplicate(shop: Shop) -> None:
    limit_to(shop, 2)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [CREATED]
    _key_off(shop)
    # With the key: 409 and 201. Without it, neither.
    batch = [order_item(shop, "a"), order_item(shop, "b")]
    assert outcomes(record_in_transaction(batch)) == [KEY_GONE, KEY_GONE]
    _fill_quota(shop)
    assert outcomes(record_in_transaction([order_item(shop, "c")])) == [KEY_GONE]  # not 402
    assert stored_ids(shop) == ["a"]


# --- Events: gone or inactive -----------------------------------------------------------------


def test_a_record_of_a_deleted_event_is_refused(shop: Shop) -> None:
    kept = Event.objects.create(project=shop.project, name="Kept")
    late = event_item(shop)
    shop.event.delete()
    results = record_in_transaction([late, event_item(shop, kept.pk)])
    assert results == [Result(EVENT_GONE), Result(CREATED, results[1].record_id)]
    assert list(EventRecord.objects.values_list("event_id", flat=True)) == [kept.pk]


def test_a_record_of_a_deactivated_event_is_refused(shop: Shop) -> None:
    channel = webhook_channel(shop, "https://example.com/hook")
    channel.events.add(shop.event)
    Event.objects.filter(pk=shop.event.pk).update(is_active=False)
    assert record_in_transaction([event_item(shop)]) == [Result(EVENT_INACTIVE)]
    assert not EventRecord.objects.exists()
    assert not Delivery.objects.exists()


def test_a_record_of_another_projects_event_is_refused(shop: Shop, other_shop: Shop) -> None:
    assert record_in_transaction([event_item(shop, other_shop.event.pk)]) == [Result(EVENT_GONE)]
    assert not EventRecord.objects.exists()


def test_key_gone_comes_before_event_gone_and_event_inactive(shop: Shop) -> None:
    inactive = Event.objects.create(project=shop.project, name="Off", is_active=False)
    batch = [event_item(shop), event_item(shop, inactive.pk)]
    shop.event.delete()
    _key_off(shop)
    assert outcomes(record_in_transaction(batch)) == [KEY_GONE, KEY_GONE]


def test_event_records_have_no_quota_and_no_duplicates(shop: Shop) -> None:
    limit_to(shop, 0)
    results = record_in_transaction([event_item(shop), event_item(shop)])
    assert outcomes(results) == [CREATED, CREATED]
    assert EventRecord.objects.count() == 2
    assert used(shop) == 0


def test_a_batch_of_orders_and_records_answers_each_in_its_place(
    shop: Shop, other_shop: Shop
) -> None:
    limit_to(shop, 2)
    inactive = Event.objects.create(project=shop.project, name="Off", is_active=False)
    gone = Event.objects.create(project=shop.project, name="Gone")
    late = event_item(shop, gone.pk)
    gone.delete()
    batch = [
        event_item(shop),
        order_item(shop, "a"),
        late,
        order_item(shop, "a"),
        event_item(shop, inactive.pk),
        order_item(other_shop, "a"),
        order_item(shop, "b"),
        event_item(other_shop),
        order_item(shop, "c"),
    ]
    results = record_in_transaction(batch)
    assert outcomes(results) == [
        *(CREATED, CREATED, EVENT_GONE),
        *(DUPLICATE, EVENT_INACTIVE, CREATED),
        *(CREATED, CREATED, LIMIT),
    ]
    orders = {pk: (project, id_) for pk, project, id_ in Order.objects.values_list(
        "pk", "project_id", "external_id")}  # fmt: skip
    assert [orders[results[n].record_id] for n in (1, 5, 6)] == [  # type: ignore[index]
        (shop.project.pk, "a"),
        (other_shop.project.pk, "a"),
        (shop.project.pk, "b"),
    ]
    records = dict(EventRecord.objects.values_list("pk", "event_id"))
    assert [records[results[n].record_id] for n in (0, 7)] == [  # type: ignore[index]
        shop.event.pk,
        other_shop.event.pk,
    ]
