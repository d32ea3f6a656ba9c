"""PostgreSQL's group commit: what each order of a group gets, and what the group stores.

The per-group rules are checked through `record_in_transaction`, which runs the same two
statements as the committer inside the test's transaction, so every outcome is deterministic.
The committer itself is checked with real threads against committed data.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import (
    DatabaseError,
    DataError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from orderreport.orders.postgres import GroupCommit, PendingOrder, record_in_transaction
from orderreport.orders.services import OrderResult, Outcome

from orderreport.accounts.billing import billing_period
from orderreport.accounts.models import Usage
from orderreport.accounts.services import get_plan, orders_used, set_plan
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders import postgres
from orderreport.orders.models import Order
from orderreport.projects.models import Project
from tests.conftest import Shop, make_shop
from tests.ingest.helpers import plan_with_limit
from tests.notify.conftest import webhook_channel

pytestmark = pytest.mark.postgres

CREATED, DUPLICATE = Outcome.CREATED, Outcome.DUPLICATE
LIMIT, GONE = Outcome.LIMIT_REACHED, Outcome.GONE
MISSING_PROJECT = 2**40  # no project has this id


def row(
    project_id: int,
    external_id: str,
    *,
    received_at: dt.datetime | None = None,
    **fields: Any,
) -> tuple[Any, ...]:
    """An order's columns in services.record_order's `row` order."""
    values: dict[str, Any] = {
        "total": 1000,
        "currency": "RUB",
        "username": "",
        "email": "",
        "phone": "",
        "products": [],
        "data": [],
        "origin": "https://example.com",
        "client_ip": None,
        "user_agent": "",
    }
    values.update(fields)
    return (project_id, external_id, *values.values(), received_at or timezone.now())


def period_of(shop: Shop) -> dt.date:
    return shop.account.current_period()[0]


def pending(
    shop: Shop, external_id: str, period: dt.date | None = None, **fields: Any
) -> PendingOrder:
    """An order of the shop's own project, counted in `period` (default: the current one)."""
    return PendingOrder(
        shop.account.id, period or period_of(shop), row(shop.project.id, external_id, **fields)
    )


def outcomes(results: list[OrderResult]) -> list[Outcome]:
    return [r.outcome for r in results]


def used(shop: Shop, period: dt.date | None = None) -> int:
    usage = Usage.objects.filter(account=shop.account, period_start=period or period_of(shop))
    return usage.values_list("used", flat=True).first() or 0


def stored_ids(shop: Shop) -> list[str]:
    return sorted(Order.objects.filter(project=shop.project).values_list("external_id", flat=True))


def limit_to(shop: Shop, limit: int | None) -> None:
    set_plan(shop.account, plan_with_limit(limit))


def created_ids(results: list[OrderResult]) -> list[int]:
    ids = [r.order_id for r in results if r.outcome is CREATED]
    assert None not in ids
    return [i for i in ids if i is not None]


# --- One group: duplicates ------------------------------------------------------------------


def test_the_same_id_twice_in_a_group_is_stored_once(shop: Shop) -> None:
    results = record_in_transaction([pending(shop, "a"), pending(shop, "a")])
    assert outcomes(results) == [CREATED, DUPLICATE]
    assert results[1].order_id is None
    assert stored_ids(shop) == ["a"]
    assert Order.objects.get(project=shop.project).pk == results[0].order_id
    assert used(shop) == 1


def test_the_same_id_in_two_projects_of_a_group_is_two_orders(shop: Shop) -> None:
    second = Project.objects.create(account=shop.account, name="Second shop")
    period = period_of(shop)
    group = [
        pending(shop, "a"),
        PendingOrder(shop.account.id, period, row(second.id, "a")),
    ]
    assert outcomes(record_in_transaction(group)) == [CREATED, CREATED]
    assert Order.objects.filter(external_id="a").count() == 2
    assert used(shop) == 2


def test_a_group_stores_each_orders_own_fields(shop: Shop) -> None:
    when = dt.datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    products = [{"name": 'Chair "Ö"', "price": 5000, "quantity": 2}]
    data = [{"name": "Comment", "value": "call after 6\\pm"}]
    first = pending(
        shop,
        "with-fields",
        received_at=when,
        total=10000,
        currency="EUR",
        username="Анна",
        email="anna@example.com",
        phone="+7 900 000-00-00",
        products=products,
        data=data,
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0",
    )
    results = record_in_transaction([first, pending(shop, "plain", received_at=when)])
    assert outcomes(results) == [CREATED, CREATED]
    first_id, plain_id = created_ids(results)
    stored = Order.objects.get(pk=first_id)
    assert (stored.external_id, stored.total, stored.currency) == ("with-fields", 10000, "EUR")
    assert (stored.username, stored.email, stored.phone) == (
        "Анна",
        "anna@example.com",
        "+7 900 000-00-00",
    )
    assert (stored.products, stored.data) == (products, data)
    assert (stored.client_ip, stored.user_agent) == ("203.0.113.7", "Mozilla/5.0")
    assert stored.received_at == when
    plain = Order.objects.get(pk=plain_id)
    assert (plain.external_id, plain.currency, plain.client_ip) == ("plain", "RUB", None)


# --- One group: the limit -------------------------------------------------------------------


def test_the_limit_falls_inside_a_group(shop: Shop) -> None:
    limit_to(shop, 2)
    results = record_in_transaction([pending(shop, f"o{n}") for n in range(4)])
    assert outcomes(results) == [CREATED, CREATED, LIMIT, LIMIT]
    assert stored_ids(shop) == ["o0", "o1"]
    assert used(shop) == 2 == orders_used(shop.account)


def test_a_group_continues_from_what_the_period_already_used(shop: Shop) -> None:
    limit_to(shop, 3)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=2)
    results = record_in_transaction([pending(shop, "a"), pending(shop, "b")])
    assert outcomes(results) == [CREATED, LIMIT]
    assert used(shop) == 3


def test_a_zero_limit_accepts_nothing_and_counts_nothing(shop: Shop) -> None:
    limit_to(shop, 0)
    results = record_in_transaction([pending(shop, "a"), pending(shop, "b")])
    assert outcomes(results) == [LIMIT, LIMIT]
    assert not Order.objects.exists()
    assert not Usage.objects.filter(used__gt=0).exists()


def test_a_duplicate_gets_402_once_the_limit_is_reached_at_its_place(shop: Shop) -> None:
    limit_to(shop, 1)
    group = [pending(shop, "a"), pending(shop, "a"), pending(shop, "b")]
    assert outcomes(record_in_transaction(group)) == [CREATED, LIMIT, LIMIT]
    assert stored_ids(shop) == ["a"]
    assert used(shop) == 1


def test_a_duplicate_gets_409_while_there_is_room_at_its_place(shop: Shop) -> None:
    limit_to(shop, 2)
    group = [pending(shop, "a"), pending(shop, "a"), pending(shop, "b")]
    assert outcomes(record_in_transaction(group)) == [CREATED, DUPLICATE, CREATED]
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


def test_an_id_stored_before_the_group_is_a_duplicate_while_there_is_room(shop: Shop) -> None:
    limit_to(shop, 2)
    assert outcomes(record_in_transaction([pending(shop, "a")])) == [CREATED]
    assert outcomes(record_in_transaction([pending(shop, "a")])) == [DUPLICATE]
    # Its place in the group decides: before the last unit of quota is taken, 409 ...
    group = [pending(shop, "a"), pending(shop, "b")]
    assert outcomes(record_in_transaction(group)) == [DUPLICATE, CREATED]
    assert used(shop) == 2


def test_an_id_stored_before_the_group_gets_402_once_there_is_no_room(shop: Shop) -> None:
    limit_to(shop, 2)
    assert outcomes(record_in_transaction([pending(shop, "a")])) == [CREATED]
    # ... after it, 402 (the contract checks the limit before the id).
    group = [pending(shop, "b"), pending(shop, "a")]
    assert outcomes(record_in_transaction(group)) == [CREATED, LIMIT]
    assert outcomes(record_in_transaction([pending(shop, "a")])) == [LIMIT]
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


# --- One group: several accounts and periods ------------------------------------------------


def test_each_account_of_a_group_is_counted_against_its_own_limit(shop: Shop) -> None:
    other = make_shop(domain="other.example")
    unlimited = make_shop(domain="unlimited.example")
    limit_to(shop, 1)
    limit_to(other, 3)
    set_plan(unlimited.account, get_plan("unlimited"))
    Usage.objects.create(
        account=unlimited.account, period_start=period_of(unlimited), used=2_000_000_000
    )
    group = [
        pending(shop, "o1"),
        pending(other, "o1"),
        pending(unlimited, "o1"),
        pending(shop, "o2"),
        pending(other, "o2"),
        pending(other, "o2"),
        pending(shop, "o3"),
        pending(other, "o3"),
        pending(other, "o4"),
        pending(unlimited, "o2"),
    ]
    assert outcomes(record_in_transaction(group)) == [
        CREATED,
        CREATED,
        CREATED,
        LIMIT,
        CREATED,
        DUPLICATE,
        LIMIT,
        CREATED,
        LIMIT,
        CREATED,
    ]
    assert stored_ids(shop) == ["o1"]
    assert stored_ids(other) == ["o1", "o2", "o3"]
    assert stored_ids(unlimited) == ["o1", "o2"]
    assert (used(shop), used(other), used(unlimited)) == (1, 3, 2_000_000_002)


def test_a_group_spanning_two_periods_counts_each_period(shop: Shop) -> None:
    limit_to(shop, 2)
    current = period_of(shop)
    previous, end = billing_period(shop.account.billing_anchor, current - dt.timedelta(days=1))
    assert end == current
    Usage.objects.create(account=shop.account, period_start=previous, used=1)
    group = [
        pending(shop, "late-1", previous),
        pending(shop, "new-1", current),
        pending(shop, "late-2", previous),
        pending(shop, "new-2", current),
        pending(shop, "new-3", current),
        # Ids are unique per project whatever the period: a duplicate, and its period is full.
        pending(shop, "new-1", previous),
    ]
    assert outcomes(record_in_transaction(group)) == [
        CREATED,
        CREATED,
        LIMIT,
        CREATED,
        LIMIT,
        LIMIT,
    ]
    assert stored_ids(shop) == ["late-1", "new-1", "new-2"]
    assert (used(shop, previous), used(shop, current)) == (2, 2)


def test_a_duplicate_across_periods_is_a_duplicate_while_its_period_has_room(shop: Shop) -> None:
    current = period_of(shop)
    previous, _end = billing_period(shop.account.billing_anchor, current - dt.timedelta(days=1))
    group = [pending(shop, "x", previous), pending(shop, "x", current)]
    assert outcomes(record_in_transaction(group)) == [CREATED, DUPLICATE]
    assert (used(shop, previous), used(shop, current)) == (1, 0)


# --- One group: the outbox ------------------------------------------------------------------


def test_a_group_queues_one_delivery_per_created_order(shop: Shop) -> None:
    other = make_shop(domain="other.example")  # no channels: nothing queued for its orders
    hook = webhook_channel(shop, "https://example.com/hook")
    webhook_channel(shop, "https://example.com/off", is_active=False)
    webhook_channel(shop, "https://example.com/events-only", receives_orders=False)
    limit_to(shop, 3)
    group = [
        pending(shop, "a"),
        pending(shop, "a"),
        pending(other, "a"),
        pending(shop, "b"),
        pending(shop, "c"),
        pending(shop, "d"),
    ]
    results = record_in_transaction(group)
    assert outcomes(results) == [CREATED, DUPLICATE, CREATED, CREATED, CREATED, LIMIT]
    created = created_ids([results[0], results[3], results[4]])
    deliveries = Delivery.objects.filter(topic="order").order_by("order_id")
    assert [(d.channel_id, d.topic, d.order_id, d.status) for d in deliveries] == [
        (hook.pk, "order", order_id, "pending") for order_id in sorted(created)
    ]


def test_a_group_crossing_80_percent_writes_one_warning(shop: Shop) -> None:
    hook = webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 10)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=6)
    results = record_in_transaction([pending(shop, f"o{n}") for n in range(3)])
    assert outcomes(results) == [CREATED] * 3
    # Orders 8 and 9 are both at 80% or more: one warning, for the order that crossed it.
    warning = LimitWarning.objects.get()
    assert (warning.account_id, warning.period_start, warning.threshold) == (
        shop.account.id,
        period_of(shop),
        80,
    )
    assert (warning.used, warning.monthly_limit) == (8, 10)
    limit_deliveries = Delivery.objects.filter(topic="limit", limit_warning=warning)
    # The channel that wants limits, and the owner's e-mail (no channel).
    assert sorted(limit_deliveries.values_list("channel_id", flat=True), key=str) == sorted(
        [hook.pk, None], key=str
    )
    assert Delivery.objects.filter(topic="order").count() == 3

    results = record_in_transaction([pending(shop, f"p{n}") for n in range(3)])
    assert outcomes(results) == [CREATED, LIMIT, LIMIT]
    assert sorted(LimitWarning.objects.values_list("threshold", "used")) == [(80, 8), (100, 10)]
    assert Delivery.objects.filter(topic="limit").count() == 4
    assert used(shop) == 10


def test_a_group_crossing_both_thresholds_writes_one_warning_for_each(shop: Shop) -> None:
    limit_to(shop, 5)
    results = record_in_transaction([pending(shop, f"o{n}") for n in range(7)])
    assert outcomes(results) == [CREATED] * 5 + [LIMIT] * 2
    assert sorted(LimitWarning.objects.values_list("threshold", flat=True)) == [80, 100]
    assert Delivery.objects.filter(topic="limit", channel=None).count() == 2


def test_a_group_warns_only_for_the_thresholds_it_crosses(shop: Shop) -> None:
    # Already at 80% without a warning (say the plan was lowered): nothing new was crossed.
    limit_to(shop, 10)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=8)
    assert outcomes(record_in_transaction([pending(shop, "a")])) == [CREATED]
    assert not LimitWarning.objects.exists()
    assert outcomes(record_in_transaction([pending(shop, "b"), pending(shop, "c")])) == [
        CREATED,
        LIMIT,
    ]
    assert list(LimitWarning.objects.values_list("threshold", "used")) == [(100, 10)]


def test_a_group_below_80_percent_warns_nobody(shop: Shop) -> None:
    limit_to(shop, 10)
    results = record_in_transaction([pending(shop, f"o{n}") for n in range(7)])
    assert outcomes(results) == [CREATED] * 7
    assert not LimitWarning.objects.exists()
    assert not Delivery.objects.exists()


# --- One group: orders whose project or account is gone -------------------------------------


def test_an_order_of_a_missing_project_is_gone_without_harming_the_group(shop: Shop) -> None:
    limit_to(shop, 2)
    ghost = PendingOrder(shop.account.id, period_of(shop), row(MISSING_PROJECT, "ghost"))
    group = [ghost, pending(shop, "a"), ghost, pending(shop, "b"), pending(shop, "c")]
    results = record_in_transaction(group)
    # A gone order takes no quota: the limit of 2 still goes to a and b.
    assert outcomes(results) == [GONE, CREATED, GONE, CREATED, LIMIT]
    assert results[0].order_id is None
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


def test_an_order_of_a_deleted_project_is_gone(shop: Shop) -> None:
    doomed = Project.objects.create(account=shop.account, name="Closed shop")
    doomed_id = doomed.id
    doomed.delete()
    group = [
        PendingOrder(shop.account.id, period_of(shop), row(doomed_id, "a")),
        pending(shop, "a"),
    ]
    assert outcomes(record_in_transaction(group)) == [GONE, CREATED]
    assert Order.objects.filter(project_id=doomed_id).count() == 0
    assert used(shop) == 1


def test_an_order_of_a_deleted_account_is_gone(shop: Shop) -> None:
    doomed = make_shop(domain="doomed.example")
    order = pending(doomed, "a")
    account_id = doomed.account.id
    doomed.account.delete()
    assert outcomes(record_in_transaction([pending(shop, "a"), order, pending(shop, "b")])) == [
        CREATED,
        GONE,
        CREATED,
    ]
    assert not Usage.objects.filter(account_id=account_id).exists()
    assert used(shop) == 2


# --- The committer, with threads ------------------------------------------------------------


@dataclass
class Groups:
    """What GroupCommit._execute saw: one (size, ok) per transaction tried."""

    calls: list[tuple[int, bool]] = field(default_factory=list)
    # Hold the first group until this many orders in all have been submitted, so the rest
    # of a burst is queued while it commits (no timing involved).
    hold_first_until: int | None = None
    held_all: bool | None = None
    first_started: threading.Event = field(default_factory=threading.Event)
    # Fail the first group of more than one order as a whole, before it reaches the database.
    fail_a_group: bool = False
    # Run on the committer's own connection before each group (the group's index).
    before: Callable[[Any, int], None] | None = None
    # The server process of the committer's connection after each committed group.
    backend_pids: list[int] = field(default_factory=list)

    @property
    def committed(self) -> list[int]:
        return [size for size, ok in self.calls if ok]


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> Groups:
    seen = Groups()
    execute = GroupCommit._execute

    def spy(self: GroupCommit, db: Any, orders: list[PendingOrder]) -> list[OrderResult]:
        first = not seen.first_started.is_set()
        seen.first_started.set()
        if first and seen.hold_first_until is not None:
            rest = seen.hold_first_until - len(orders)
            with self._wake:  # submitters notify this condition after queueing
                seen.held_all = self._wake.wait_for(lambda: len(self._queue) >= rest, timeout=30)
        if seen.before is not None:
            seen.before(db, len(seen.calls))
        if seen.fail_a_group and len(orders) > 1:
            seen.fail_a_group = False
            seen.calls.append((len(orders), False))
            raise DatabaseError("the group failed as a whole (simulated)")
        try:
            results = execute(self, db, orders)
        except BaseException:
            seen.calls.append((len(orders), False))
            raise
        seen.calls.append((len(orders), True))
        seen.backend_pids.append(db.connection.info.backend_pid)
        return results

    monkeypatch.setattr(GroupCommit, "_execute", spy)
    return seen


@pytest.fixture
def committer() -> Iterator[GroupCommit]:
    """The process's committer, stopped after the test (its connection closed)."""
    postgres.stop_group_commit()
    gc = postgres._committer()
    yield gc
    postgres.stop_group_commit()
    assert gc._thread is None or not gc._thread.is_alive()


def submit_all(
    orders: list[PendingOrder], *, through_record_order: bool = False
) -> list[OrderResult | BaseException]:
    """Submit every order from its own thread, all at once, as request threads would.

    Straight to the committer by default; one test goes through postgres.record_order.
    """
    start = threading.Barrier(len(orders))

    def send(order: PendingOrder) -> OrderResult | BaseException:
        start.wait()
        try:
            if through_record_order:
                return postgres.record_order(order.account_id, order.period_start, order.row)
            return postgres._committer().submit(order)
        except Exception as exc:
            return exc
        finally:
            connection.close()  # this thread's own connection, if it opened one

    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        return list(pool.map(send, orders))


def submit_behind_one(
    first: PendingOrder, rest: list[PendingOrder], groups: Groups
) -> list[OrderResult | BaseException]:
    """Commit `first` alone, with all of `rest` queued behind it: they form the next group."""
    groups.hold_first_until = 1 + len(rest)
    with ThreadPoolExecutor(max_workers=1) as pool:
        head = pool.submit(submit_all, [first])
        assert groups.first_started.wait(timeout=60)
        tail = submit_all(rest)
        return head.result(timeout=60) + tail


def results_of(answers: list[OrderResult | BaseException]) -> list[OrderResult]:
    errors = [a for a in answers if isinstance(a, BaseException)]
    assert not errors, errors
    return [a for a in answers if isinstance(a, OrderResult)]


committed_data = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@committed_data
def test_forty_parallel_orders_are_all_created_in_groups(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    groups.hold_first_until = 40
    results = results_of(submit_all([pending(shop, f"o{n}") for n in range(40)]))
    assert groups.held_all
    assert Counter(outcomes(results)) == {CREATED: 40}
    assert len(set(created_ids(results))) == 40
    assert stored_ids(shop) == sorted(f"o{n}" for n in range(40))
    assert set(Order.objects.values_list("pk", flat=True)) == set(created_ids(results))
    assert used(shop) == 40
    # One transaction per group, every order in exactly one of them, and a burst shares.
    assert all(ok for _size, ok in groups.calls)
    assert sum(groups.committed) == 40
    assert len(groups.committed) <= 2
    assert max(groups.committed) > 1


@committed_data
def test_forty_parallel_orders_on_a_limit_of_ten_create_exactly_ten(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    limit_to(shop, 10)
    results = results_of(submit_all([pending(shop, f"o{n}") for n in range(40)]))
    assert Counter(outcomes(results)) == {CREATED: 10, LIMIT: 30}
    accepted = {f"o{n}" for n, r in enumerate(results) if r.outcome is CREATED}
    assert set(stored_ids(shop)) == accepted
    assert Order.objects.count() == 10
    assert used(shop) == 10
    assert sum(groups.committed) == 40


@committed_data
def test_parallel_copies_of_one_id_are_stored_once(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    results = results_of(submit_all([pending(shop, "same")] * 20))
    assert Counter(outcomes(results)) == {CREATED: 1, DUPLICATE: 19}
    assert stored_ids(shop) == ["same"]
    assert used(shop) == 1


@committed_data
def test_a_group_that_fails_as_a_whole_is_retried_order_by_order(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    tight = make_shop(domain="tight.example")
    limit_to(tight, 2)
    ghost = PendingOrder(shop.account.id, period_of(shop), row(MISSING_PROJECT, "ghost"))
    rest = [
        *(pending(shop, f"o{n}") for n in range(5)),
        *[pending(shop, "dup")] * 3,
        *(pending(tight, f"t{n}") for n in range(4)),
        ghost,
    ]
    groups.fail_a_group = True
    results = results_of(submit_behind_one(pending(shop, "first"), rest, groups))
    # The first order alone, then the rest as one group that failed, then each alone.
    assert groups.calls == [(1, True), (len(rest), False)] + [(1, True)] * len(rest)
    assert outcomes(results[:1]) == [CREATED]
    assert outcomes(results[1:6]) == [CREATED] * 5
    assert Counter(outcomes(results[6:9])) == {CREATED: 1, DUPLICATE: 2}
    assert Counter(outcomes(results[9:13])) == {CREATED: 2, LIMIT: 2}
    assert outcomes(results[13:]) == [GONE]
    assert stored_ids(shop) == sorted(["first", "dup", *(f"o{n}" for n in range(5))])
    assert len(stored_ids(tight)) == 2
    assert (used(shop), used(tight)) == (7, 2)


@committed_data
def test_a_bad_order_fails_alone(shop: Shop, committer: GroupCommit, groups: Groups) -> None:
    # Too long for the currency column: the database refuses the whole group's statement.
    bad = pending(shop, "bad", currency="RUBLES")
    rest = [pending(shop, "a"), bad, pending(shop, "b"), pending(shop, "a")]
    answers = submit_behind_one(pending(shop, "first"), rest, groups)
    # The group of four failed; retried alone, only the bad order failed again.
    assert groups.calls[:2] == [(1, True), (4, False)]
    assert Counter(groups.calls[2:]) == {(1, True): 3, (1, False): 1}
    assert isinstance(answers[2], DataError)
    assert outcomes(results_of([answers[0], answers[3]])) == [CREATED, CREATED]
    # The two copies of "a" raced: one is stored, the other is its duplicate.
    assert Counter(outcomes(results_of([answers[1], answers[4]]))) == {CREATED: 1, DUPLICATE: 1}
    assert stored_ids(shop) == ["a", "b", "first"]
    assert used(shop) == 3


@committed_data
def test_a_burst_larger_than_a_group_is_split(
    shop: Shop, committer: GroupCommit, groups: Groups, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "MAX_GROUP", 4)
    limit_to(shop, 6)
    rest = [pending(shop, f"o{n}") for n in range(9)]
    results = results_of(submit_behind_one(pending(shop, "first"), rest, groups))
    assert groups.calls == [(1, True), (4, True), (4, True), (1, True)]
    assert Counter(outcomes(results)) == {CREATED: 6, LIMIT: 4}
    assert results[0].outcome is CREATED
    assert Order.objects.count() == 6
    assert used(shop) == 6


@committed_data
def test_the_committer_starts_again_after_it_was_stopped(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    assert outcomes(results_of(submit_all([pending(shop, "before")]))) == [CREATED]
    postgres.stop_group_commit()
    assert committer._thread is None  # ended; the next order starts a new one
    assert outcomes(results_of(submit_all([pending(shop, "after")]))) == [CREATED]
    assert stored_ids(shop) == ["after", "before"]
    assert used(shop) == 2


@committed_data
def test_orders_outside_a_transaction_go_through_the_committer(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    limit_to(shop, 6)
    orders = [pending(shop, f"o{n}") for n in range(8)] + [pending(shop, "o0")] * 2
    results = results_of(submit_all(orders, through_record_order=True))
    assert sum(groups.committed) == 10  # every one of them committed by the committer
    assert Counter(outcomes(results)).total() == 10
    assert Counter(outcomes(results))[CREATED] == 6
    assert set(outcomes(results)) <= {CREATED, DUPLICATE, LIMIT}
    assert Order.objects.count() == 6
    assert used(shop) == 6


@committed_data
def test_an_order_inside_a_transaction_commits_with_that_transaction(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    order = pending(shop, "inside")
    with transaction.atomic():
        result = postgres.record_order(order.account_id, order.period_start, order.row)
        transaction.set_rollback(True)
    assert result.outcome is CREATED
    assert groups.calls == []  # not the committer's: the caller's transaction decides
    assert not Order.objects.exists()
    assert used(shop) == 0


@committed_data
def test_the_committer_prepares_again_when_the_server_forgot_its_statements(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    forgot: list[int] = []

    def forget(db: Any, index: int) -> None:
        if index == 1:  # as DISCARD ALL from a pooler would, between two groups
            db.connection.execute("DEALLOCATE ALL")
            forgot.append(index)

    groups.before = forget
    assert outcomes(results_of(submit_all([pending(shop, "a")]))) == [CREATED]
    assert outcomes(results_of(submit_all([pending(shop, "b"), pending(shop, "a")]))) in (
        [CREATED, DUPLICATE],
        [DUPLICATE, CREATED],
    )
    assert forgot == [1]
    assert len(groups.calls) in (2, 3)  # the second burst may have formed one group or two
    assert all(ok for _size, ok in groups.calls)
    assert stored_ids(shop) == ["a", "b"]
    assert used(shop) == 2


@committed_data
def test_a_lone_order_survives_the_loss_of_the_committers_idle_connection(
    shop: Shop, committer: GroupCommit, groups: Groups
) -> None:
    assert outcomes(results_of(submit_all([pending(shop, "a")]))) == [CREATED]
    # The server ends the committer's idle session (a restart, an idle timeout, an admin);
    # the call returns once that backend has exited.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 30000)", [groups.backend_pids[-1]])
        assert cursor.fetchone() == (True,)
    # Nothing is wrong with this order: a group of several would be retried on a new
    # connection, and so should a group of one.
    assert outcomes(results_of(submit_all([pending(shop, "b")]))) == [CREATED]
    assert stored_ids(shop) == ["a", "b"]


@committed_data
def test_the_committer_plans_its_statements_again_as_the_tables_fill(
    shop: Shop, committer: GroupCommit, groups: Groups, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every group is a planning point here: each must still prepare cleanly over the last.
    monkeypatch.setattr(postgres, "REPLAN_SECONDS", 0.0)
    prepares: list[str] = []

    def seen(db: Any, index: int) -> None:
        if db.connection is None:
            return  # the first group connects
        with db.connection.cursor() as cursor:
            cursor.execute("SELECT prepare_time::text FROM pg_prepared_statements ORDER BY 1")
            prepares.extend(row[0] for row in cursor.fetchall())

    groups.before = seen
    for n in range(4):
        assert outcomes(results_of(submit_all([pending(shop, f"o{n}")]))) == [CREATED]
    # Before groups 2, 3 and 4 the statements of the group before are there, each pair
    # prepared anew (two statements per preparation).
    assert len(prepares) == 6
    assert len(set(prepares)) == 6  # none kept from an earlier preparation
    assert stored_ids(shop) == ["o0", "o1", "o2", "o3"]
    assert used(shop) == 4


@committed_data
def test_a_failing_committer_fails_its_orders_instead_of_leaving_them_waiting(
    shop: Shop, committer: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = GroupCommit._commit
    broken = {"once": True}

    def commit_with_a_bug(self: GroupCommit, db: Any, group: list[Any]) -> None:
        if broken.pop("once", False):
            raise RuntimeError("a bug in the committer (simulated)")
        commit(self, db, group)

    monkeypatch.setattr(GroupCommit, "_commit", commit_with_a_bug)
    answers = submit_all([pending(shop, "a")])
    assert [type(a) for a in answers] == [RuntimeError]  # answered (503), not left hanging
    assert outcomes(results_of(submit_all([pending(shop, "b")]))) == [CREATED]
    assert stored_ids(shop) == ["b"]


@committed_data
def test_a_request_stops_waiting_for_a_stuck_commit(
    shop: Shop, committer: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    execute = GroupCommit._execute

    def stuck(self: GroupCommit, db: Any, orders: list[PendingOrder]) -> list[OrderResult]:
        assert release.wait(timeout=60)
        return execute(self, db, orders)

    monkeypatch.setattr(GroupCommit, "_execute", stuck)
    monkeypatch.setattr(postgres, "WAIT_SECONDS", 0.2)
    answers = submit_all([pending(shop, "slow")])
    assert [str(a) for a in answers] == ["the order was not committed within 0.2 s"]
    assert isinstance(answers[0], DatabaseError)
    release.set()
    postgres.stop_group_commit()  # waits for the stuck group to finish
    assert stored_ids(shop) == ["slow"]  # committed after all: a retry would get 409


@committed_data
def test_a_usage_row_locked_elsewhere_holds_up_only_its_own_accounts_orders(
    shop: Shop, committer: GroupCommit, groups: Groups, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_shop(domain="other.example")
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT_MS", 300)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=0)
    # Another session holds the shop's usage row (say the account is being deleted).
    blocker = connections.create_connection("default")
    try:
        with blocker.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT used FROM accounts_usage WHERE account_id = %s FOR UPDATE",
                [shop.account.id],
            )
            answers = submit_behind_one(
                pending(other, "first"), [pending(shop, "stuck"), pending(other, "ok")], groups
            )
            cursor.execute("ROLLBACK")
    finally:
        blocker.close()
    created = [a for a in answers if isinstance(a, OrderResult)]
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert outcomes(created) == [CREATED, CREATED]  # the other tenant's orders went through
    assert [type(e) for e in failed] == [OperationalError]  # lock timeout: answered 503
    assert stored_ids(other) == ["first", "ok"]
    assert stored_ids(shop) == []
    assert outcomes(results_of(submit_all([pending(shop, "stuck")]))) == [CREATED]  # retried


@committed_data
def test_orders_waiting_for_a_locked_usage_row_fail_together_not_one_by_one(
    shop: Shop, committer: GroupCommit, groups: Groups, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_shop(domain="other.example")
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT_MS", 200)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=0)
    blocker = connections.create_connection("default")
    try:
        with blocker.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT used FROM accounts_usage WHERE account_id = %s FOR UPDATE",
                [shop.account.id],
            )
            stuck = [pending(shop, f"stuck-{n}") for n in range(3)]
            answers = submit_behind_one(
                pending(other, "first"), [*stuck, pending(other, "ok")], groups
            )
            cursor.execute("ROLLBACK")
    finally:
        blocker.close()
    assert sum(isinstance(a, OperationalError) for a in answers) == 3
    assert stored_ids(other) == ["first", "ok"]
    # The first order alone; the group of four waits out the lock once; then the other
    # account's order goes alone and the locked account's three wait once more, together.
    assert groups.calls[:2] == [(1, True), (4, False)]
    assert sorted(groups.calls[2:]) == [(1, True), (3, False)]
