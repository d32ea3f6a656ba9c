"""The daily summary: when the worker queues it, that it goes out once, and what it says."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orderreport.notify import digest
from orderreport.notify.models import Channel, Delivery
from orderreport.notify.outbox import send_again
from orderreport.notify.worker import Worker
from orderreport.orders.services import change_status
from tests.conftest import Shop
from tests.notify.conftest import (
    Receiver,
    email_channel,
    run_worker,
    telegram_channel,
    webhook_channel,
)
from tests.notify.servers import FakeTelegram, Mailbox, parts_of
from tests.reports.helpers import add_order, add_record

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3 all year
BERLIN = ZoneInfo("Europe/Berlin")  # CET/CEST
DAY = dt.date(2026, 11, 30)  # the day summarised
EARLY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the summary was switched on long before


def local(day: dt.date, hour: int, minute: int = 0, zone: ZoneInfo = MOSCOW) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), zone)


def with_digest(channel: Channel, hour: int = 9, since: dt.datetime = EARLY) -> Channel:
    channel.sends_digest = True
    channel.digest_hour = hour
    channel.digest_since = since
    channel.save()
    return channel


def in_zone(shop: Shop, zone: ZoneInfo) -> None:
    shop.project.timezone = zone.key
    shop.project.save()


def seed_day(shop: Shop) -> None:
    """DAY in Moscow against the day before, with the edges that must stay out."""
    in_zone(shop, MOSCOW)
    before = DAY - dt.timedelta(days=1)
    after = DAY + dt.timedelta(days=1)
    add_order(shop.project, local(before, 12), 90000, "RUB", [_line("Cap", 1, 90000)])
    # 00:10 in Moscow is still the evening before in UTC: it belongs to DAY.
    add_order(
        shop.project,
        local(DAY, 0, 10),
        150000,
        "RUB",
        [_line("<b>x</b>", 2, 50000), _line("Cap", 1, 50000)],
    )
    add_order(shop.project, local(DAY, 23, 30), 30000, "RUB", [_line("Cap", 1, 30000)])
    add_order(shop.project, local(DAY, 13), 2000, "USD", [_line("Mug", 1, 2000)])
    cancelled = add_order(shop.project, local(DAY, 12), 10000, "RUB", [_line("Hat", 1, 10000)])
    change_status(cancelled, "cancelled")
    add_order(shop.project, local(after, 0, 10), 777700, "RUB", [_line("Late", 1, 777700)])
    for hour in (10, 11, 12):
        add_record(shop.event, local(DAY, hour))
    for hour in (10, 11):
        add_record(shop.event, local(before, hour))


def _line(name: str, count: int, price: int) -> dict[str, Any]:
    return {"name": name, "count": count, "price": price}


AT_THE_HOUR = local(DAY + dt.timedelta(days=1), 9, 0, MOSCOW) + dt.timedelta(seconds=30)


def tick(now: dt.datetime) -> Worker:
    """One worker pass at `now`: queue what fell due, then send it."""
    digest.schedule(now)
    return run_worker(now)


# --- What it says ---------------------------------------------------------------------------


def test_it_sends_yesterdays_figures_to_telegram(
    shop: Shop, telegram: FakeTelegram, settings: Any
) -> None:
    seed_day(shop)
    with_digest(telegram_channel(shop, receives_orders=False))
    tick(AT_THE_HOUR)

    (message,) = telegram.messages
    text = message["text"]
    assert message["parse_mode"] == "HTML"
    assert "<b>Daily summary for November 30, 2026</b>" in text
    assert "Revenue (RUB): <b>RUB\xa01,800.00 (+100%)</b>" in text
    assert "Orders (RUB): <b>2 (+100%)</b>" in text
    assert "Average order (RUB): <b>RUB\xa0900.00 (+0%)</b>" in text
    assert "Cancelled or refunded (RUB): <b>1 · RUB\xa0100.00</b>" in text
    # A product name is customer data: its tags are shown as text, never as markup.
    assert "Top product (RUB): <b>&lt;b&gt;x&lt;/b&gt; × 2 — RUB\xa01,000.00</b>" in text  # noqa: RUF001
    assert "<b>x</b>" not in text
    # Never summed across currencies; a currency absent the day before has no change.
    assert "Revenue (USD): <b>$20.00</b>" in text
    assert "Top product (USD): <b>Mug × 1 — $20.00</b>" in text  # noqa: RUF001
    assert "Leads: <b>3 (+50%)</b>" in text
    assert "7,777.00" not in text  # the next day's order
    assert (
        f'<a href="{settings.BASE_URL}/projects/{shop.project.pk}/">Open the overview</a>' in text
    )
    assert Delivery.objects.get(topic="digest").status == Delivery.Status.SENT


def test_it_mails_the_summary_in_the_owners_language(shop: Shop, smtp: Mailbox) -> None:
    shop.user.language = "ru"
    shop.user.save()
    seed_day(shop)
    with_digest(email_channel(shop, ["boss@example.com"], ["boss@example.com"]))
    tick(AT_THE_HOUR)

    (message,) = smtp.messages
    assert "Сводка за 30 ноября 2026" in message["Subject"]
    parts = parts_of(message)
    text, html = parts["text/plain"], parts["text/html"]
    assert "<b>x</b> × 2" in text  # noqa: RUF001
    assert "&lt;b&gt;x&lt;/b&gt; × 2" in html  # noqa: RUF001
    assert "<b>x</b>" not in html
    for body in (text, html):
        assert "Выручка (RUB)" in body
        assert "1\xa0800,00\xa0₽ (+100%)" in body
        assert "Заявки" in body
        assert f"/projects/{shop.project.pk}/" in body


def test_it_posts_the_figures_in_minor_units_to_a_webhook(
    shop: Shop, receiver: Receiver, settings: Any
) -> None:
    seed_day(shop)
    channel = with_digest(webhook_channel(shop, receiver.url, receives_orders=False))
    tick(AT_THE_HOUR)

    (request,) = receiver.requests
    body = request.json()
    delivery = Delivery.objects.get(topic="digest")
    assert body["type"] == "digest.daily"
    assert body["delivery_id"] == str(delivery.pk)
    assert body["project"] == {"id": shop.project.pk, "name": shop.project.name}
    assert body["digest"] == {
        "day": "2026-11-30",
        "timezone": "Europe/Moscow",
        "currencies": [
            {
                "currency": "RUB",
                "revenue": 180000,
                "orders": 2,
                "average": 90000,
                "items": 4,
                "cancelled_orders": 1,
                "cancelled_total": 10000,
                "previous_day": {"revenue": 90000, "orders": 1, "average": 90000, "items": 1},
                "top_product": {"name": "<b>x</b>", "quantity": 2, "revenue": 100000},
            },
            {
                "currency": "USD",
                "revenue": 2000,
                "orders": 1,
                "average": 2000,
                "items": 1,
                "cancelled_orders": 0,
                "cancelled_total": 0,
                "previous_day": {"revenue": 0, "orders": 0, "average": None, "items": 0},
                "top_product": {"name": "Mug", "quantity": 1, "revenue": 2000},
            },
        ],
        "leads": 3,
        "previous_day_leads": 2,
        "url": f"{settings.BASE_URL}/projects/{shop.project.pk}/",
    }
    assert channel.deliveries.get().digest_day == DAY


def test_it_says_zero_for_an_empty_day(shop: Shop, telegram: FakeTelegram) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False))
    tick(AT_THE_HOUR)
    (message,) = telegram.messages
    assert "Orders: <b>0</b>" in message["text"]
    assert "Leads: <b>0</b>" in message["text"]


def test_it_reads_the_figures_when_sending_not_when_queuing(
    shop: Shop, telegram: FakeTelegram
) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False))
    digest.schedule(AT_THE_HOUR)
    # An order of yesterday that arrives (say, from a late import) before the send is in it.
    add_order(shop.project, local(DAY, 15), 12300, "RUB", [_line("Cap", 1, 12300)])
    run_worker(AT_THE_HOUR)
    (message,) = telegram.messages
    assert "Revenue: <b>RUB\xa0123.00</b>" in message["text"]


# --- When it is queued ----------------------------------------------------------------------


def test_it_sends_nothing_before_the_hour(shop: Shop, telegram: FakeTelegram) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False), hour=9)
    tick(local(DAY + dt.timedelta(days=1), 8, 59) + dt.timedelta(seconds=59))
    assert telegram.messages == []
    assert not Delivery.objects.exists()
    tick(local(DAY + dt.timedelta(days=1), 9, 0))
    assert len(telegram.messages) == 1


def test_it_sends_nothing_to_a_channel_switched_off_or_without_the_summary(
    shop: Shop, telegram: FakeTelegram
) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, chat_id="1", receives_orders=False, is_active=False))
    telegram_channel(shop, chat_id="2", receives_orders=False)  # summary not asked for
    tick(AT_THE_HOUR)
    assert telegram.messages == []
    assert not Delivery.objects.exists()


def test_it_starts_the_day_after_for_a_summary_switched_on_after_the_hour(
    shop: Shop, telegram: FakeTelegram
) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False), since=AT_THE_HOUR)
    tick(AT_THE_HOUR + dt.timedelta(hours=1))
    assert telegram.messages == []
    tick(AT_THE_HOUR + dt.timedelta(days=1))
    (delivery,) = Delivery.objects.all()
    assert delivery.digest_day == DAY + dt.timedelta(days=1)
    assert len(telegram.messages) == 1


def test_it_catches_up_the_same_day_but_never_a_missed_one(
    shop: Shop, telegram: FakeTelegram
) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False), hour=9)
    # Down from before 9:00 until the evening: the summary goes when the worker is back.
    tick(local(DAY + dt.timedelta(days=1), 22))
    # Down all the next day: that day's summary is not sent two days late.
    tick(local(DAY + dt.timedelta(days=3), 10))
    days = {d.digest_day for d in Delivery.objects.all()}
    assert days == {DAY, DAY + dt.timedelta(days=2)}
    assert len(telegram.messages) == 2


def test_it_does_not_send_twice_when_the_worker_restarts_at_the_hour(
    shop: Shop, telegram: FakeTelegram
) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False))
    tick(AT_THE_HOUR)
    # A fresh worker (its 30-second timer starts at zero) half a minute later, and later on.
    tick(AT_THE_HOUR + dt.timedelta(seconds=30))
    tick(AT_THE_HOUR + dt.timedelta(hours=14))
    assert len(telegram.messages) == 1
    assert Delivery.objects.count() == 1


def test_it_keeps_the_hour_in_the_projects_zone_across_dst(shop: Shop) -> None:
    in_zone(shop, BERLIN)
    channel = with_digest(telegram_channel(shop, receives_orders=False), hour=9)
    # Winter (UTC+1): 9:00 is 08:00 UTC.
    assert digest.schedule(dt.datetime(2026, 3, 28, 7, 59, 59, tzinfo=dt.UTC)) == 0
    assert digest.schedule(dt.datetime(2026, 3, 28, 8, 0, tzinfo=dt.UTC)) == 1
    # Summer from 29 March (UTC+2): 9:00 is 07:00 UTC.
    assert digest.schedule(dt.datetime(2026, 3, 30, 6, 59, 59, tzinfo=dt.UTC)) == 0
    assert digest.schedule(dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)) == 1
    days = set(channel.deliveries.values_list("digest_day", flat=True))
    assert days == {dt.date(2026, 3, 27), dt.date(2026, 3, 29)}


def test_it_sends_at_the_first_instant_after_a_skipped_hour() -> None:
    # Berlin has no 02:00 on 29 March 2026: the clocks go from 02:00 CET to 03:00 CEST.
    day, at = digest.due(BERLIN, 2, dt.datetime(2026, 3, 29, 12, tzinfo=dt.UTC))
    assert day == dt.date(2026, 3, 28)
    assert at == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)  # 03:00 CEST


def test_it_summarises_a_23_hour_local_day(shop: Shop) -> None:
    in_zone(shop, BERLIN)
    dst_day = dt.date(2026, 3, 29)
    inside = [
        dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC),  # 00:30 CET on the 29th
        dt.datetime(2026, 3, 29, 21, 30, tzinfo=dt.UTC),  # 23:30 CEST on the 29th
    ]
    outside = [
        dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC),  # 23:30 CET on the 28th
        dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC),  # 00:30 CEST on the 30th
    ]
    for at in inside:
        add_order(shop.project, at, 1000, "EUR", [_line("Pen", 1, 1000)])
    for at in outside:
        add_order(shop.project, at, 5000, "EUR", [_line("Ink", 1, 5000)])
    figures = digest.figures(shop.project, dst_day)
    (eur,) = figures.currencies
    assert (eur.day.revenue, eur.day.orders) == (2000, 2)
    assert (eur.before.revenue, eur.before.orders) == (5000, 1)
    assert eur.top is not None and eur.top.name == "Pen"


# --- Exactly once ---------------------------------------------------------------------------


def test_the_database_refuses_a_second_summary_for_a_channel_and_day(shop: Shop) -> None:
    channel = telegram_channel(shop)
    now = timezone.now()
    key = digest.once_key(channel.pk, DAY)
    fields = {"channel": channel, "topic": "digest", "digest_day": DAY, "created": now}
    Delivery.objects.create(**fields, once_key=key, next_attempt_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(**fields, once_key=key, next_attempt_at=now)
    Delivery.objects.bulk_create(
        [Delivery(**fields, once_key=key, next_attempt_at=now)], ignore_conflicts=True
    )
    assert Delivery.objects.filter(topic="digest").count() == 1
    # Other deliveries have no key and are not limited.
    Delivery.objects.bulk_create(
        [Delivery(channel=channel, topic="test", next_attempt_at=now, created=now) for _ in "ab"]
    )
    assert Delivery.objects.filter(topic="test").count() == 2


def test_it_sends_a_summary_again_on_request(shop: Shop, telegram: FakeTelegram) -> None:
    in_zone(shop, MOSCOW)
    with_digest(telegram_channel(shop, receives_orders=False))
    tick(AT_THE_HOUR)
    copy = send_again(Delivery.objects.get(), AT_THE_HOUR + dt.timedelta(minutes=5))
    assert (copy.digest_day, copy.once_key) == (DAY, None)
    run_worker(AT_THE_HOUR + dt.timedelta(minutes=5))
    assert len(telegram.messages) == 2
    tick(AT_THE_HOUR + dt.timedelta(minutes=10))
    assert len(telegram.messages) == 2


def _in_threads(count: int, work: Any) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_the_hour_send_one_summary_per_channel(
    shop: Shop, telegram: FakeTelegram, receiver: Receiver
) -> None:
    in_zone(shop, MOSCOW)
    chat = with_digest(telegram_channel(shop, receives_orders=False))
    hook = with_digest(webhook_channel(shop, receiver.url, receives_orders=False))

    def worker_pass() -> None:
        worker = Worker(batch_size=10)
        for _ in range(3):  # a few passes at the hour, as the loop would make
            digest.schedule(AT_THE_HOUR)
            while worker.run_once(AT_THE_HOUR):
                pass

    _in_threads(2, worker_pass)
    assert len(telegram.messages) == 1
    assert len(receiver.requests) == 1
    assert sorted(Delivery.objects.values_list("channel_id", "digest_day", "status")) == [
        (chat.pk, DAY, "sent"),
        (hook.pk, DAY, "sent"),
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_worker_loops_send_one_summary(shop: Shop, telegram: FakeTelegram) -> None:
    # The real loop on the real clock: hour 0 has come whenever the test runs.
    with_digest(telegram_channel(shop, receives_orders=False), hour=0)
    workers = [Worker(batch_size=10, poll_seconds=0.05) for _ in range(2)]
    _in_threads(2, lambda: workers.pop().run(until_idle=True))
    # And a worker restarted right after.
    Worker(poll_seconds=0.05).run(until_idle=True)
    assert len(telegram.messages) == 1
    assert Delivery.objects.get().status == "sent"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_worker_processes_send_one_summary(shop: Shop, receiver: Receiver) -> None:
    from tests.notify.test_worker import _start_worker

    add_order(shop.project, timezone.now() - dt.timedelta(days=1), 4200, "RUB")
    channels = [
        with_digest(webhook_channel(shop, receiver.url, receives_orders=False), hour=0)
        for _ in range(3)
    ]
    processes = [_start_worker("--until-idle", "--batch-size", "1") for _ in range(2)]
    for process in processes:
        process.wait(timeout=120)
    assert [p.returncode for p in processes] == [0, 0]
    restarted = _start_worker("--until-idle")
    restarted.wait(timeout=120)
    assert restarted.returncode == 0
    ids = sorted(r.headers["x-orderreport-delivery"] for r in receiver.requests)
    assert len(ids) == 3
    deliveries = Delivery.objects.filter(topic="digest")
    assert sorted(str(d.pk) for d in deliveries) == ids
    assert {d.channel_id for d in deliveries} == {c.pk for c in channels}
    assert all(r.json()["type"] == "digest.daily" for r in receiver.requests)


def test_it_sums_up_a_product_line_beyond_the_decimal_defaults(
    shop: Shop, telegram: FakeTelegram
) -> None:
    # The API takes price and count up to int64 each: their product has 38 digits.
    in_zone(shop, MOSCOW)
    biggest = 2**63 - 1
    add_order(shop.project, local(DAY, 12), biggest, "USD", [_line("Yacht", biggest, biggest)])
    with_digest(telegram_channel(shop, receives_orders=False))
    tick(AT_THE_HOUR)

    (message,) = telegram.messages
    assert "Top product: <b>Yacht × " in message["text"]  # noqa: RUF001
    assert "— $850,705,917,302," in message["text"]
    assert Delivery.objects.get(topic="digest").status == Delivery.Status.SENT
