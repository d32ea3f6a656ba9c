"""The worker: retries with backoff, give-up after a day, leases, crashes and shutdowns."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from orderreport.notify.models import Attempt, Delivery
from orderreport.notify.outbox import enqueue_test
from orderreport.notify.worker import Worker, claim, renew, retry_delay
from tests.conftest import Api, Shop
from tests.notify.conftest import Receiver, place_order, run_worker, spawned, webhook_channel
from tests.notify.servers import LocalHTTPServer, Request, free_port


def test_it_backs_off_exponentially_with_jitter() -> None:
    low = [retry_delay(n, lambda: 0.0).total_seconds() for n in range(1, 10)]
    high = [retry_delay(n, lambda: 1.0).total_seconds() for n in range(1, 10)]
    assert low[:4] == [22.5, 45, 90, 180]
    assert high[:4] == [37.5, 75, 150, 300]
    assert retry_delay(30, lambda: 0.5) == dt.timedelta(hours=2)  # capped


def test_it_retries_for_about_a_day_then_gives_up(
    api: Api, shop: Shop, loopback_allowed: None
) -> None:
    webhook_channel(shop, f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    place_order(api, shop)
    delivery = Delivery.objects.get()
    now = delivery.created
    while delivery.status == Delivery.Status.PENDING:
        # Nothing is sent before it is due...
        assert Worker().run_once(delivery.next_attempt_at - dt.timedelta(seconds=1)) == 0
        now = delivery.next_attempt_at
        run_worker(now)
        delivery.refresh_from_db()
        assert delivery.attempts < 40
    assert delivery.status == Delivery.Status.FAILED
    attempts = list(delivery.attempt_log.order_by("at"))
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert 22 <= gaps[0] <= 38
    assert gaps[5] > gaps[0] * 10  # it backed off
    span = attempts[-1].at - delivery.created
    assert dt.timedelta(hours=20) < span <= dt.timedelta(hours=24)
    assert [a.outcome for a in attempts[:-1]] == [Attempt.Outcome.RETRY] * (len(attempts) - 1)
    assert attempts[-1].outcome == Attempt.Outcome.FAILED
    assert "Could not connect" in attempts[-1].error


def test_it_delivers_an_order_taken_while_the_receiver_was_down(
    api: Api, shop: Shop, loopback_allowed: None
) -> None:
    port = free_port()
    webhook_channel(shop, f"http://127.0.0.1:{port}/hook")
    place_order(api, shop)  # accepted even though the receiver is down
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    receiver = Receiver(port=port)
    try:
        run_worker(delivery.next_attempt_at)
    finally:
        receiver.close()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert len(receiver.requests) == 1
    assert receiver.requests[0].json()["order"]["id"] == "order-100234"


def test_it_takes_over_a_claim_only_after_its_lease(shop: Shop, settings: Any) -> None:
    settings.NOTIFY_LEASE_SECONDS = 300
    channel = webhook_channel(shop, "https://example.com/")
    now = timezone.now()
    delivery = enqueue_test(channel, now)
    assert claim(now, "crashed", 10) == [delivery.pk]
    assert claim(now + dt.timedelta(seconds=299), "other", 10) == []
    assert claim(now + dt.timedelta(seconds=300), "other", 10) == [delivery.pk]


def test_it_skips_deliveries_taken_over_while_its_batch_was_slow(
    shop: Shop, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderreport.notify import worker as worker_module

    channel = webhook_channel(shop, receiver.url)
    for _ in range(3):
        enqueue_test(channel, timezone.now())
    slow, other = Worker(batch_size=10), Worker(batch_size=10)
    real_deliver = worker_module.deliver
    calls = 0

    def first_send_outlasts_the_lease(delivery: Delivery, claim_id: str, now: Any) -> Any:
        # The first send of the batch takes longer than the lease (waiting 300 s is not an
        # option here): the rest of the batch's leases run out, and another worker takes
        # them over and sends them while this one is still busy.
        nonlocal calls
        calls += 1
        if calls == 1:
            Delivery.objects.exclude(pk=delivery.pk).update(
                claimed_until=timezone.now() - dt.timedelta(seconds=1)
            )
            assert other.run_once() == 2
        return real_deliver(delivery, claim_id, now)

    monkeypatch.setattr(worker_module, "deliver", first_send_outlasts_the_lease)
    assert slow.run_once() == 3
    ids = [r.headers["x-orderreport-delivery"] for r in receiver.requests]
    assert sorted(ids) == sorted(str(pk) for pk in Delivery.objects.values_list("pk", flat=True))
    assert (slow.sent, other.sent) == (1, 2)
    assert Attempt.objects.count() == 3
    assert Delivery.objects.filter(status="sent").count() == 3


def test_it_renews_the_lease_of_each_delivery_before_sending_it(
    shop: Shop, receiver: Receiver, settings: Any
) -> None:
    settings.NOTIFY_LEASE_SECONDS = 300
    channel = webhook_channel(shop, receiver.url)
    delivery = enqueue_test(channel, timezone.now())
    start = timezone.now()
    assert claim(start, "mine", 10) == [delivery.pk]
    later_on = start + dt.timedelta(seconds=200)
    assert renew(delivery.pk, "mine", later_on)
    assert claim(start + dt.timedelta(seconds=400), "other", 10) == []  # still ours
    assert not renew(delivery.pk, "someone-else", later_on)  # proves ownership


def test_it_sends_a_test_message(shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(shop, receiver.url)
    enqueue_test(channel, timezone.now())
    run_worker()
    assert receiver.requests[0].json()["type"] == "test"


# --- Separate worker processes (PostgreSQL: they must share the test database) -------------


def _worker_env(**extra: str) -> dict[str, str]:
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "OUTBOUND_ALLOW_PRIVATE": "true",
        "WEBHOOK_ALLOW_HTTP": "true",
        "NOTIFY_POLL_SECONDS": "0.05",
        **extra,
    }


def _start_worker(*args: str, **env: str) -> subprocess.Popen[bytes]:
    """`orderreport worker`, killed when the test ends however it ends."""
    return spawned(
        subprocess.Popen(
            [sys.executable, "-m", "orderreport", "worker", *args],
            env=_worker_env(**env),
            cwd=django_settings.ROOT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    )


def _queue_tests(channel: Any, count: int) -> None:
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(channel=channel, topic="test", next_attempt_at=now, created=now)
        for _ in range(count)
    )


class SlowReceiver(LocalHTTPServer):
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started = 0  # requests that arrived, finished or not
        super().__init__(self._handle)

    def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        self.started += 1
        time.sleep(self.delay)
        return 200, {}, b"ok"


@pytest.fixture
def slow_receiver() -> Iterator[SlowReceiver]:
    server = SlowReceiver(0.5)
    yield server
    server.close()


def _wait_for(condition: Any, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_never_sends_twice_with_two_workers(shop: Shop, loopback_allowed: None) -> None:
    # A few milliseconds per request, so the run outlasts the second worker's start-up and
    # both really work side by side.
    receiver = SlowReceiver(0.003)
    channel = webhook_channel(shop, receiver.url)
    _queue_tests(channel, 1000)
    workers = [_start_worker("--until-idle", "--batch-size", "10") for _ in range(2)]
    for worker in workers:
        worker.wait(timeout=300)
    assert [w.returncode for w in workers] == [0, 0]
    ids = [r.headers["x-orderreport-delivery"] for r in receiver.requests]
    assert len(ids) == 1000
    assert len(set(ids)) == 1000
    assert Delivery.objects.filter(status="sent").count() == 1000
    assert Attempt.objects.count() == 1000
    # Both took part: the work was shared, not serialised behind one lock.
    outputs = [w.stdout.read().decode() for w in workers if w.stdout]
    receiver.close()
    assert all("sending 0\n" not in out for out in outputs), outputs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_never_sends_twice_when_a_batch_outlasts_its_lease(
    shop: Shop, slow_receiver: SlowReceiver, loopback_allowed: None
) -> None:
    # 8 sends of 1 s each in one batch against a 5 s lease: the second worker takes over
    # what the first has not reached when the lease runs out.
    slow_receiver.delay = 1.0
    channel = webhook_channel(shop, slow_receiver.url)
    _queue_tests(channel, 8)
    first = _start_worker("--until-idle", "--batch-size", "8", NOTIFY_LEASE_SECONDS="5")
    _wait_for(lambda: slow_receiver.started >= 1)
    second = _start_worker("--batch-size", "8", NOTIFY_LEASE_SECONDS="5")
    try:
        assert first.wait(timeout=60) == 0
        _wait_for(lambda: Delivery.objects.filter(status="sent").count() == 8)
        time.sleep(0.5)  # anything still on its way would arrive now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    ids = [r.headers["x-orderreport-delivery"] for r in slow_receiver.requests]
    assert sorted(ids) == sorted(set(ids)), "a delivery was sent twice"
    assert len(ids) == 8
    assert Attempt.objects.count() == 8
    # The takeover really happened: the second worker sent what the first had to give up.
    outputs = [w.stdout.read().decode() for w in (first, second) if w.stdout]
    assert "sending 0\n" not in outputs[1], outputs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_completes_the_claims_of_a_killed_worker(
    shop: Shop, slow_receiver: SlowReceiver, loopback_allowed: None
) -> None:
    channel = webhook_channel(shop, slow_receiver.url)
    _queue_tests(channel, 5)
    victim = _start_worker("--batch-size", "5", NOTIFY_LEASE_SECONDS="5")
    _wait_for(
        lambda: len(slow_receiver.requests) >= 1 or Delivery.objects.exclude(claim="").count()
    )
    _wait_for(lambda: Delivery.objects.filter(status="sent").count() >= 1)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    claimed = Delivery.objects.filter(status="pending").exclude(claim="")
    assert claimed.exists()  # it died holding claims
    lease_end = max(d.claimed_until for d in claimed if d.claimed_until)

    # Before the lease ends nobody touches them; after it, another worker completes them.
    assert Worker().run_once(lease_end - dt.timedelta(seconds=1)) == 0
    run_worker(lease_end)
    assert Delivery.objects.filter(status="sent").count() == 5
    delivered = {r.headers["x-orderreport-delivery"] for r in slow_receiver.requests}
    assert delivered == {str(pk) for pk in Delivery.objects.values_list("pk", flat=True)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_finishes_the_current_send_on_sigterm(
    shop: Shop, slow_receiver: SlowReceiver, loopback_allowed: None
) -> None:
    slow_receiver.delay = 1.5
    channel = webhook_channel(shop, slow_receiver.url)
    _queue_tests(channel, 3)
    worker = _start_worker("--batch-size", "3")
    # Wait until the first send is in flight, then ask the worker to stop.
    _wait_for(lambda: slow_receiver.started >= 1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    sent = Delivery.objects.filter(status="sent")
    assert sent.count() == 1  # the send in flight completed and was recorded
    pending = Delivery.objects.filter(status="pending")
    assert pending.count() == 2
    assert not pending.exclude(claim="").exists()  # the rest were given back at once
    assert connection.vendor == "postgresql"


def test_it_keeps_a_delivery_when_a_transport_has_a_bug(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderreport.notify.transports import webhook

    def broken(delivery: Delivery) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(webhook, "send", broken)
    channel = webhook_channel(shop, "https://example.com/")
    delivery = enqueue_test(channel, timezone.now())
    run_worker()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # retried later, not lost
    assert delivery.last_error == "Internal error: KeyError"


def test_it_prunes_old_finished_deliveries_only(shop: Shop) -> None:
    from orderreport.notify.worker import prune

    channel = webhook_channel(shop, "https://example.com/")
    now = timezone.now()
    old = now - dt.timedelta(days=91)
    sent = Delivery.objects.create(
        channel=channel, topic="test", status="sent", next_attempt_at=old, created=old
    )
    Attempt.objects.create(delivery=sent, at=old, duration_ms=1, outcome="sent")
    pending = Delivery.objects.create(
        channel=channel, topic="test", next_attempt_at=old, created=old
    )
    recent = enqueue_test(channel, now)
    Delivery.objects.filter(pk=recent.pk).update(status="failed")
    assert prune(now, keep_days=90) == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}
    assert not Attempt.objects.exists()


def test_its_prune_step_deletes_expired_held_orders(shop: Shop) -> None:
    from orderreport.accounts.models import HeldOrder
    from orderreport.accounts.services import set_plan
    from orderreport.ingest.record import record_in_transaction
    from tests.ingest.helpers import order_item, plan_with_limit

    set_plan(shop.account, plan_with_limit(0))
    record_in_transaction([order_item(shop, "expired"), order_item(shop, "waiting")])
    HeldOrder.objects.filter(external_id="expired").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    Worker(batch_size=50).run(until_idle=True)
    assert list(HeldOrder.objects.values_list("external_id", flat=True)) == ["waiting"]
