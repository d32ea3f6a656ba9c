"""What the recording rules store and queue, on both databases (rules: ingest/__init__.py).

Part of the contract suite of test_rules.py, through `record_in_transaction` like it: every
field stored as sent; the outbox (one delivery per active channel that wants the item, none for
a refused item); the limit warnings (once per account, billing period and threshold, at 80%
and 100%, with the count of the order that crossed it); and the billing periods the quota and
the warnings are counted in, from the account's anchor and the day an order was received.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from orderreport.accounts.models import Account, Usage
from orderreport.events.models import EventRecord
from orderreport.ingest.lookup import load_key_info
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.record import order_item as item_of_request
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import EVENT_COLUMNS, ORDER_COLUMNS, OrderItem, Outcome
from orderreport.ingest.schemas import OrderPayload
from orderreport.notify.models import Channel, Delivery, LimitWarning
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Event, Project
from tests.conftest import Shop
from tests.ingest.helpers import event_item, limit_to, order_item, outcomes, used
from tests.notify.conftest import webhook_channel

CREATED, DUPLICATE, LIMIT = Outcome.CREATED, Outcome.DUPLICATE, Outcome.LIMIT_REACHED
KEY_GONE, EVENT_GONE = Outcome.KEY_GONE, Outcome.EVENT_GONE
EVENT_INACTIVE = Outcome.EVENT_INACTIVE

WHEN = dt.datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)


def period_of(shop: Shop) -> dt.date:
    return shop.account.current_period()[0]


def columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


# --- Fields, as sent --------------------------------------------------------------------------


def test_an_order_is_stored_as_sent(shop: Shop) -> None:
    products = [
        {"name": "Стул «Венский»", "price": 5000, "count": 2, "image": "https://пример.рф/1.png"},
        {"name": 'Chair "Ö" \\ 2', "price": 0, "count": 2**63 - 1, "image": "http://a.b/c?d=e"},
    ]
    data = [
        {"name": "Комментарий", "value": "позвонить после 18:00\nЖдём ответа"},
        {"name": "n", "value": ""},
    ]
    full = order_item(
        shop,
        "заказ-№1 ✓",
        received_at=WHEN,
        total=2**63 - 1,
        currency="EUR",
        username="Анна Петрова",
        email="anna@example.com",
        phone="+7 (900) 000-00-00",
        products=products,
        data=data,
        origin="https://xn--e1afmkfd.xn--p1ai:8443",
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux) Яндекс.Браузер",
    )
    # Another instant written in another zone, an IPv6 client, everything else left plain.
    moscow = dt.datetime(2026, 5, 1, 15, 30, 15, 7, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    plain = order_item(shop, "plain", received_at=moscow, client_ip="2001:db8::7")
    none = order_item(shop, "none", received_at=WHEN.replace(microsecond=0))
    results = record_in_transaction([full, plain, none])
    assert outcomes(results) == [CREATED] * 3
    for item, result in zip([full, plain, none], results, strict=True):
        stored = Order.objects.get(pk=result.record_id)
        assert columns(stored, ORDER_COLUMNS) == item.row._asdict()
        assert stored.received_at == item.row.received_at  # to the microsecond
    assert Order.objects.get(external_id="plain").received_at == WHEN.replace(microsecond=7)
    assert Order.objects.get(external_id="none").client_ip is None


def test_an_event_record_is_stored_as_sent(shop: Shop) -> None:
    data = [{"name": "Имя", "value": "Руслан «Гарапов»"}, {"name": "Телефон", "value": "+998"}]
    full = event_item(
        shop,
        received_at=WHEN,
        data=data,
        origin="https://www.example.com:8443",
        client_ip="2001:db8::5",
        user_agent="Mozilla/5.0 (Event) ü",
    )
    plain = event_item(shop, received_at=WHEN.replace(microsecond=0))
    results = record_in_transaction([full, plain])
    assert outcomes(results) == [CREATED] * 2
    for item, result in zip([full, plain], results, strict=True):
        stored = EventRecord.objects.get(pk=result.record_id)
        assert columns(stored, EVENT_COLUMNS) == item.row._asdict()


# --- The outbox -------------------------------------------------------------------------------


def test_an_order_queues_one_delivery_per_active_channel_that_wants_orders(
    shop: Shop, other_shop: Shop
) -> None:
    hook = webhook_channel(shop, "https://example.com/hook")
    chat = webhook_channel(shop, "https://example.com/chat", receives_limits=True)
    webhook_channel(shop, "https://example.com/off", is_active=False)
    webhook_channel(shop, "https://example.com/events-only", receives_orders=False)
    # Another project of the same account: its channels hear of its own orders only.
    second = Project.objects.create(account=shop.account, name="Second shop")
    Channel.objects.create(project=second, kind="webhook", name="2", config=hook.config)
    limit_to(shop, 3)
    batch = [
        order_item(shop, "a", received_at=WHEN),
        order_item(shop, "a"),
        order_item(other_shop, "a"),  # no channels: nothing queued
        order_item(shop, "b", received_at=WHEN + dt.timedelta(seconds=1)),
        order_item(shop, "c", received_at=WHEN + dt.timedelta(seconds=2)),
        order_item(shop, "d"),
    ]
    results = record_in_transaction(batch)
    assert outcomes(results) == [CREATED, DUPLICATE, CREATED, CREATED, CREATED, LIMIT]
    created = {results[n].record_id: batch[n].row.received_at for n in (0, 3, 4)}
    orders = Delivery.objects.filter(topic="order")
    assert sorted(orders.values_list("channel_id", "order_id")) == sorted(
        (channel.pk, order_id) for channel in (hook, chat) for order_id in created
    )
    for delivery in orders:
        assert (delivery.status, delivery.attempts, delivery.claim) == ("pending", 0, "")
        assert delivery.next_attempt_at == delivery.created == created[delivery.order_id]


def test_a_refused_order_queues_nothing(shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 1)
    [first] = record_in_transaction([order_item(shop, "a")])
    before = set(Delivery.objects.values_list("pk", flat=True))
    assert {d.order_id for d in Delivery.objects.filter(topic="order")} == {first.record_id}
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [LIMIT]
    limit_to(shop, 5)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [DUPLICATE]
    ApiKey.objects.filter(pk=shop.key.pk).update(is_active=False)
    assert outcomes(record_in_transaction([order_item(shop, "b")])) == [KEY_GONE]
    assert set(Delivery.objects.values_list("pk", flat=True)) == before


def test_an_event_record_queues_one_delivery_per_active_channel_that_chose_the_event(
    shop: Shop, other_shop: Shop
) -> None:
    form = Event.objects.create(project=shop.project, name="Form")
    # Whether a channel receives orders has nothing to do with event records.
    callbacks = webhook_channel(shop, "https://example.com/1", receives_orders=False)
    callbacks.events.add(shop.event)
    everything = webhook_channel(shop, "https://example.com/2")
    everything.events.add(shop.event, form)
    off = webhook_channel(shop, "https://example.com/3", is_active=False)
    off.events.add(shop.event, form)
    webhook_channel(shop, "https://example.com/orders-only")
    webhook_channel(other_shop, "https://example.com/4").events.add(other_shop.event)
    call = event_item(shop, received_at=WHEN)
    filled = event_item(shop, form.pk, received_at=WHEN + dt.timedelta(seconds=1))
    results = record_in_transaction([call, filled])
    assert outcomes(results) == [CREATED, CREATED]
    call_id, form_id = results[0].record_id, results[1].record_id
    events = Delivery.objects.filter(topic="event")
    assert sorted(events.values_list("channel_id", "event_record_id")) == sorted(
        [(callbacks.pk, call_id), (everything.pk, call_id), (everything.pk, form_id)]
    )
    at = {call_id: WHEN, form_id: WHEN + dt.timedelta(seconds=1)}
    for delivery in events:
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        assert delivery.next_attempt_at == delivery.created == at[delivery.event_record_id]
    assert not Delivery.objects.exclude(topic="event").exists()


def test_a_refused_event_record_queues_nothing(shop: Shop) -> None:
    off = Event.objects.create(project=shop.project, name="Off", is_active=False)
    gone = Event.objects.create(project=shop.project, name="Gone")
    channel = webhook_channel(shop, "https://example.com/hook")
    channel.events.add(shop.event, off, gone)
    late = event_item(shop, gone.pk)
    gone.delete()
    results = record_in_transaction([event_item(shop, off.pk), late])
    assert outcomes(results) == [EVENT_INACTIVE, EVENT_GONE]
    ApiKey.objects.filter(pk=shop.key.pk).update(is_active=False)
    assert outcomes(record_in_transaction([event_item(shop)])) == [KEY_GONE]
    assert not EventRecord.objects.exists()
    assert not Delivery.objects.exists()


def test_a_form_post_needs_no_api_key_but_a_live_event(shop: Shop) -> None:
    off = Event.objects.create(project=shop.project, name="Off", is_active=False)
    ApiKey.objects.filter(pk=shop.key.pk).update(is_active=False)  # no key is involved
    results = record_in_transaction([event_item(shop, form=True),
                                     event_item(shop, off.pk, form=True)])  # fmt: skip
    assert outcomes(results) == [CREATED, EVENT_INACTIVE]
    gone = event_item(shop, form=True)
    shop.project.delete()
    assert outcomes(record_in_transaction([gone])) == [EVENT_GONE]


def test_spam_is_stored_flagged_but_neither_notified_nor_counted(shop: Shop) -> None:
    from orderreport.events.models import EventTally

    webhook_channel(shop, "https://example.com/hook").events.add(shop.event)
    spam = event_item(shop, form=True, spam=True, spam_reason="honeypot", received_at=WHEN)
    ham = event_item(shop, form=True, received_at=WHEN)
    results = record_in_transaction([spam, ham])
    assert outcomes(results) == [CREATED, CREATED]
    stored = EventRecord.objects.get(pk=results[0].record_id)
    assert (stored.spam, stored.spam_reason) == (True, "honeypot")
    assert not EventRecord.objects.get(pk=results[1].record_id).spam
    assert list(Delivery.objects.values_list("event_record_id", flat=True)) == [
        results[1].record_id
    ]
    assert sum(EventTally.objects.values_list("records", flat=True)) == 1


# --- Limit warnings ---------------------------------------------------------------------------


def warnings(shop: Shop) -> list[tuple[dt.date, int, int, int]]:
    return sorted(
        LimitWarning.objects.filter(account=shop.account).values_list(
            "period_start", "threshold", "used", "monthly_limit"
        )
    )


def test_crossing_80_percent_writes_one_warning_with_the_crossing_count(shop: Shop) -> None:
    hook = webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    limit_to(shop, 10)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=6)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(3)])
    assert outcomes(results) == [CREATED] * 3
    # Orders 8 and 9 are both at 80% or more: one warning, for order 8 that crossed it.
    assert warnings(shop) == [(period_of(shop), 80, 8, 10)]
    warning = LimitWarning.objects.get()
    # The channel that wants limits, and the owner's e-mail (no channel).
    assert sorted(warning.deliveries.values_list("channel_id", flat=True), key=str) == sorted(
        [hook.pk, None], key=str
    )
    assert all(d.topic == "limit" for d in warning.deliveries.all())
    assert Delivery.objects.filter(topic="order").count() == 3

    results = record_in_transaction([order_item(shop, f"p{n}") for n in range(3)])
    assert outcomes(results) == [CREATED, LIMIT, LIMIT]
    assert warnings(shop) == [(period_of(shop), 80, 8, 10), (period_of(shop), 100, 10, 10)]
    assert Delivery.objects.filter(topic="limit").count() == 4
    assert used(shop) == 10


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_one_batch_crossing_both_thresholds_writes_one_warning_for_each(
    shop: Shop, limit: int
) -> None:
    limit_to(shop, limit)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(limit + 2)])
    assert outcomes(results) == [CREATED] * limit + [LIMIT] * 2
    eighty = -(-limit * 80 // 100)  # the first count at 80% or more
    assert warnings(shop) == [
        (period_of(shop), 80, eighty, limit),
        (period_of(shop), 100, limit, limit),
    ]
    assert Delivery.objects.filter(topic="limit", channel=None).count() == 2


@pytest.mark.parametrize("batched", [True, False], ids=["one-batch", "one-by-one"])
def test_warnings_are_written_once_per_period_and_threshold(shop: Shop, batched: bool) -> None:
    limit_to(shop, 10)
    items = [order_item(shop, f"o{n}") for n in range(12)]
    if batched:
        results = record_in_transaction(items)
    else:
        results = [record_in_transaction([item])[0] for item in items]
    assert outcomes(results) == [CREATED] * 10 + [LIMIT] * 2
    expected = [(period_of(shop), 80, 8, 10), (period_of(shop), 100, 10, 10)]
    assert warnings(shop) == expected
    # A bigger plan in the same period (which releases the 2 held orders first): crossing 80%
    # and 100% of it warns nobody again.
    limit_to(shop, 20)
    results = record_in_transaction([order_item(shop, f"p{n}") for n in range(9)])
    assert outcomes(results) == [CREATED] * 8 + [LIMIT]
    assert warnings(shop) == expected
    assert Delivery.objects.filter(topic="limit").count() == 2


def test_only_the_thresholds_an_order_crosses_are_warned(shop: Shop) -> None:
    # Already at 80% without a warning (say the plan was lowered): nothing new was crossed.
    limit_to(shop, 10)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=8)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [CREATED]
    assert not LimitWarning.objects.exists()
    batch = [order_item(shop, "b"), order_item(shop, "c")]
    assert outcomes(record_in_transaction(batch)) == [CREATED, LIMIT]
    assert warnings(shop) == [(period_of(shop), 100, 10, 10)]


def test_below_80_percent_nobody_is_warned(shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook", receives_limits=True, receives_orders=False)
    limit_to(shop, 10)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(7)])
    assert outcomes(results) == [CREATED] * 7
    assert not LimitWarning.objects.exists()
    assert not Delivery.objects.exists()


def test_a_warning_goes_to_each_channel_of_the_account_that_wants_limits_and_the_owner(
    shop: Shop, other_shop: Shop
) -> None:
    limits = webhook_channel(shop, "https://example.com/1", receives_limits=True)
    webhook_channel(shop, "https://example.com/2")  # orders only
    webhook_channel(shop, "https://example.com/3", receives_limits=True, is_active=False)
    second = Project.objects.create(account=shop.account, name="Second shop")
    elsewhere = Channel.objects.create(
        project=second, kind="webhook", name="2", config=limits.config, receives_limits=True
    )
    webhook_channel(other_shop, "https://example.com/4", receives_limits=True)
    limit_to(shop, 1)
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [CREATED]
    assert [t for _p, t, _u, _l in warnings(shop)] == [80, 100]
    for warning in LimitWarning.objects.all():
        assert sorted(warning.deliveries.values_list("channel_id", flat=True), key=str) == sorted(
            [limits.pk, elsewhere.pk, None], key=str
        )


def test_each_account_of_a_batch_gets_its_own_warnings(shop: Shop, other_shop: Shop) -> None:
    limit_to(shop, 5)
    limit_to(other_shop, 10)
    Usage.objects.create(account=other_shop.account, period_start=period_of(other_shop), used=7)
    batch = [order_item(s, f"{s.project.pk}-{n}") for n in range(4) for s in (shop, other_shop)]
    assert outcomes(record_in_transaction(batch)) == [CREATED] * 7 + [LIMIT]
    assert warnings(shop) == [(period_of(shop), 80, 4, 5)]
    assert warnings(other_shop) == [
        (period_of(other_shop), 80, 8, 10),
        (period_of(other_shop), 100, 10, 10),
    ]


def test_a_warning_is_dated_by_the_order_that_crossed_it(shop: Shop, other_shop: Shop) -> None:
    limit_to(shop, 5)
    Usage.objects.create(account=shop.account, period_start=period_of(shop), used=3)
    later = WHEN + dt.timedelta(minutes=1)
    batch = [
        order_item(shop, "fourth", received_at=WHEN),  # 4 of 5: 80%
        order_item(other_shop, "elsewhere", received_at=later + dt.timedelta(minutes=1)),
        order_item(shop, "fifth", received_at=later),  # 5 of 5: 100%
    ]
    assert outcomes(record_in_transaction(batch)) == [CREATED] * 3
    dated = dict(LimitWarning.objects.values_list("threshold", "created"))
    assert dated == {80: WHEN, 100: later}
    for delivery in Delivery.objects.filter(topic="limit").select_related("limit_warning"):
        assert delivery.created == delivery.next_attempt_at == delivery.limit_warning.created


# --- Billing periods --------------------------------------------------------------------------


def anchored(shop: Shop, anchor: dt.date) -> Callable[[str, dt.datetime], OrderItem]:
    """Move the account's billing anchor; returns what makes the API's items of its orders."""
    Account.objects.filter(pk=shop.account.pk).update(billing_anchor=anchor)
    shop.account.refresh_from_db()
    info = load_key_info(shop.key.key)
    assert info is not None and info.billing_anchor == anchor

    def received(external_id: str, at: dt.datetime) -> OrderItem:
        payload = OrderPayload.model_validate({"id": external_id, "total": 1})
        meta = RequestMeta(origin=shop.origin, client_ip=None, user_agent="", received_at=at)
        return item_of_request(info, payload, meta)

    return received


def usage_by_period(shop: Shop) -> dict[dt.date, int]:
    return dict(
        Usage.objects.filter(account=shop.account, used__gt=0).values_list("period_start", "used")
    )


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize("batched", [True, False], ids=["one-batch", "one-by-one"])
def test_an_order_counts_in_the_period_of_the_day_it_was_received(
    shop: Shop, batched: bool
) -> None:
    limit_to(shop, 1)
    received = anchored(shop, dt.date(2026, 1, 15))
    items = [
        received("last", utc(2026, 2, 14, 23, 59, 59, 999999)),  # period from January 15
        received("late", utc(2026, 2, 14, 12)),
        received("first", utc(2026, 2, 15)),  # a new period: starts at zero
        received("second", utc(2026, 3, 14, 23, 59)),
        received("next", utc(2026, 3, 15)),
    ]
    assert [i.period_start for i in items] == [dt.date(2026, 1, 15)] * 2 + [
        dt.date(2026, 2, 15)
    ] * 2 + [dt.date(2026, 3, 15)]
    if batched:
        results = record_in_transaction(items)
    else:
        results = [record_in_transaction([item])[0] for item in items]
    assert outcomes(results) == [CREATED, LIMIT, CREATED, LIMIT, CREATED]
    assert usage_by_period(shop) == {
        dt.date(2026, 1, 15): 1,
        dt.date(2026, 2, 15): 1,
        dt.date(2026, 3, 15): 1,
    }


@pytest.mark.parametrize("year", [2026, 2028], ids=["february-28", "leap-year"])
def test_an_anchor_on_the_31st_renews_on_the_last_day_of_shorter_months(
    shop: Shop, year: int
) -> None:
    limit_to(shop, 1)
    received = anchored(shop, dt.date(year, 1, 31))
    february_end = dt.date(year, 3, 1) - dt.timedelta(days=1)  # the 28th or the 29th
    items = [
        received("jan", utc(year, 2, february_end.day - 1, 23, 59, 59)),
        received("feb", utc(year, 2, february_end.day)),
        received("feb-late", utc(year, 3, 30, 23, 59, 59)),
        received("mar", utc(year, 3, 31)),
        received("apr", utc(year, 4, 30)),  # back to the 30th, not the 31st of a month
    ]
    assert [i.period_start for i in items] == [
        dt.date(year, 1, 31),
        february_end,
        february_end,
        dt.date(year, 3, 31),
        dt.date(year, 4, 30),
    ]
    results = record_in_transaction(items)
    assert outcomes(results) == [CREATED, CREATED, LIMIT, CREATED, CREATED]
    assert usage_by_period(shop) == {
        dt.date(year, 1, 31): 1,
        february_end: 1,
        dt.date(year, 3, 31): 1,
        dt.date(year, 4, 30): 1,
    }


def test_each_account_counts_from_its_own_anchor(shop: Shop, other_shop: Shop) -> None:
    limit_to(shop, 1)
    limit_to(other_shop, 1)
    ours = anchored(shop, dt.date(2026, 1, 15))
    theirs = anchored(other_shop, dt.date(2026, 1, 1))
    at = utc(2026, 2, 10)
    batch = [ours("a", at), theirs("a", at), ours("b", utc(2026, 2, 15)), theirs("b", at)]
    assert outcomes(record_in_transaction(batch)) == [CREATED, CREATED, CREATED, LIMIT]
    assert usage_by_period(shop) == {dt.date(2026, 1, 15): 1, dt.date(2026, 2, 15): 1}
    assert usage_by_period(other_shop) == {dt.date(2026, 2, 1): 1}


def test_a_new_period_starts_at_zero_and_warns_again(shop: Shop) -> None:
    limit_to(shop, 5)
    received = anchored(shop, dt.date(2026, 1, 15))
    old = [received(f"old-{n}", utc(2026, 2, 14, 12, n)) for n in range(6)]
    assert outcomes(record_in_transaction(old)) == [CREATED] * 5 + [LIMIT]
    new = [received(f"new-{n}", utc(2026, 2, 15, 0, n)) for n in range(6)]
    results = record_in_transaction(new[:3])
    assert outcomes(results) == [CREATED] * 3
    assert usage_by_period(shop) == {dt.date(2026, 1, 15): 5, dt.date(2026, 2, 15): 3}
    assert outcomes(record_in_transaction(new[3:])) == [CREATED, CREATED, LIMIT]
    assert warnings(shop) == [
        (dt.date(2026, 1, 15), 80, 4, 5),
        (dt.date(2026, 1, 15), 100, 5, 5),
        (dt.date(2026, 2, 15), 80, 4, 5),
        (dt.date(2026, 2, 15), 100, 5, 5),
    ]
    assert Delivery.objects.filter(topic="limit", channel=None).count() == 4
