"""The worker: claims due deliveries, sends them, records every attempt.

Claiming is one UPDATE ... RETURNING that sets a lease. On PostgreSQL the inner SELECT takes
row locks with SKIP LOCKED, so workers side by side never claim the same row; on SQLite the
statement runs under the database's single write lock, which gives the same guarantee. A worker
that dies keeps its claims until the lease ends; then any worker takes them over, so a
delivery may be sent twice after a crash (at-least-once) but never lost.

A batch can take longer than the lease (20 slow receivers), so the lease is renewed per
delivery, just before its send, by an UPDATE that also proves ownership (`claim`): a delivery
another worker took over meanwhile is skipped, never sent a second time.

Each round also sends the account mail that is due (sign-ups, password resets, invitations:
account_mail.py), under the same kind of lease and with the same retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from orderreport.accounts.services import prune_held_orders
from orderreport.events import tallies as event_tallies
from orderreport.notify import account_mail, digest, lease
from orderreport.notify.lease import MAX_RETRY_SECONDS, retry_delay
from orderreport.notify.models import Attempt, Channel, Delivery
from orderreport.notify.transports import TransportError, send
from orderreport.orders import tallies as order_tallies
from orderreport.outage import Outage

log = logging.getLogger(__name__)
database_outage = Outage("database (notification worker)", log, "polls skipped")

PRUNE_EVERY_SECONDS = 3600
# Reports' tallies gain a row per order batch; folding them often keeps a report's range at
# about one row per key (orderreport/tally.py). Each pass is bounded (COMPACT_ROWS per table
# per round, COMPACT_ROUNDS rounds), so a backlog is worked off over several passes.
COMPACT_EVERY_SECONDS = 10
COMPACT_ROWS = 2000
COMPACT_ROUNDS = 10
# How often the loop asks which daily summaries fell due (notify/digest.py): two indexed
# queries, so a summary goes out within this many seconds of its hour.
DIGEST_EVERY_SECONDS = 30


def compact_tallies() -> int:
    """One bounded compaction pass over the order and event tallies; rows folded."""
    folded = 0
    for _round in range(COMPACT_ROUNDS):
        done = order_tallies.compact(COMPACT_ROWS) + event_tallies.compact(COMPACT_ROWS)
        folded += done
        if not done:
            break
    return folded


def claim(now: dt.datetime, claim_id: str, limit: int) -> list[int]:
    """Reserve up to `limit` due deliveries for this worker until now + the lease."""
    return lease.claim(Delivery, now, claim_id, limit)


def renew(delivery_id: int, claim_id: str, now: dt.datetime) -> bool:
    """Extend this worker's lease on one delivery; False when another worker has it now."""
    return lease.renew(Delivery, delivery_id, claim_id, now)


def release(ids: list[int], claim_id: str) -> None:
    """Give back claimed deliveries not yet sent (on shutdown), so others need not wait."""
    lease.release(Delivery, ids, claim_id)


@dataclass(frozen=True)
class Result:
    outcome: str
    error: str = ""


def load(ids: list[int], claim_id: str) -> list[Delivery]:
    """The claimed deliveries with everything their messages need, in one query."""
    batch = list(
        Delivery.objects.select_related(
            "channel__project__account__owner",
            "order",
            "event_record__event",
            "limit_warning__account__owner",
            "status_change",
        )
        .filter(pk__in=ids, claim=claim_id, status=Delivery.Status.PENDING)
        .order_by("next_attempt_at", "id")
    )
    # One Channel object per channel in the batch, so a channel switched off (or a Telegram
    # chat id migrated) by one send is seen by the next send in the same batch.
    channels: dict[int, Channel] = {}
    for delivery in batch:
        if delivery.channel is not None:
            delivery.channel = channels.setdefault(delivery.channel.pk, delivery.channel)
    return batch


def deliver(delivery: Delivery, claim_id: str, now: dt.datetime | None = None) -> Result:
    """Send one claimed delivery and record the attempt. `now` is the attempt's time (tests
    pass it to travel in time); the send itself is real."""
    now = now or timezone.now()
    channel = delivery.channel
    started = time.monotonic()
    error: TransportError | None = None
    if channel is not None and not channel.is_active:
        error = TransportError("The channel is switched off", permanent=True)
    else:
        try:
            send(delivery)
        except TransportError as exc:
            error = exc
        except Exception as exc:  # a bug must not stop the worker or lose the delivery
            log.exception("delivery %s: unexpected error", delivery.pk)
            error = TransportError(f"Internal error: {type(exc).__name__}")
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record(delivery, claim_id, now, duration_ms, error)


def _record(
    delivery: Delivery,
    claim_id: str,
    now: dt.datetime,
    duration_ms: int,
    error: TransportError | None,
) -> Result:
    attempts = delivery.attempts + 1
    fields: dict[str, object] = {"attempts": attempts, "claimed_until": None, "claim": ""}
    if error is None:
        outcome = Attempt.Outcome.SENT
        fields.update(status=Delivery.Status.SENT, sent_at=now, last_error="")
    else:
        delay = retry_delay(attempts)
        if error.retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=min(error.retry_after, MAX_RETRY_SECONDS)))
        next_at = now + delay
        give_up = next_at > delivery.created + dt.timedelta(hours=settings.NOTIFY_RETRY_HOURS)
        if error.permanent or give_up:
            outcome = Attempt.Outcome.FAILED
            fields.update(status=Delivery.Status.FAILED)
        else:
            outcome = Attempt.Outcome.RETRY
            fields.update(next_attempt_at=next_at)
        fields.update(last_error=str(error)[:2000])
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            at=now,
            duration_ms=duration_ms,
            outcome=outcome,
            error=str(error or "")[:2000],
        )
        Delivery.objects.filter(pk=delivery.pk, claim=claim_id).update(**fields)
        channel = delivery.channel
        if channel is not None and error is None:
            if channel.failures_in_a_row:
                Channel.objects.filter(pk=channel.pk).update(failures_in_a_row=0)
                channel.failures_in_a_row = 0
        elif channel is not None and error is not None and channel.is_active:
            update: dict[str, object] = {
                "failures_in_a_row": F("failures_in_a_row") + 1,
                "last_failure_at": now,
            }
            if error.disable_channel:
                update.update(is_active=False, disabled_reason=str(error)[:500])
                channel.is_active = False
            Channel.objects.filter(pk=channel.pk).update(**update)
            channel.failures_in_a_row += 1
    if error is not None:
        # Transport errors carry no secrets (tokens are scrubbed), so they can be logged.
        log.info("delivery %s: %s (%s)", delivery.pk, outcome, error)
    return Result(outcome, str(error or ""))


def prune(now: dt.datetime, keep_days: int, chunk: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) older than keep_days; returns how many.
    In chunks, so a long backlog never holds one huge transaction."""
    cutoff = now - dt.timedelta(days=keep_days)
    deleted = 0
    while True:
        ids = list(
            Delivery.objects.filter(created__lt=cutoff)
            .exclude(status=Delivery.Status.PENDING)
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        Delivery.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


class Worker:
    """A loop around claim/deliver; stop() lets the send in progress finish."""

    def __init__(self, batch_size: int | None = None, poll_seconds: float | None = None) -> None:
        self.claim_id = secrets.token_hex(8)
        self.batch_size = batch_size or settings.NOTIFY_BATCH_SIZE
        self.poll_seconds = poll_seconds or settings.NOTIFY_POLL_SECONDS
        self.stopping = False
        self.sent = 0
        self.next_prune = 0.0
        self.next_compact = 0.0
        self.next_digest = 0.0

    def stop(self) -> None:
        self.stopping = True

    def run_once(self, now: dt.datetime | None = None) -> int:
        """Claim and send one batch of due account mail and one of due deliveries; returns
        how many were claimed."""
        # Account mail first: a password reset or a sign-up is waiting for it right now.
        mails, sent = account_mail.send_due(
            self.claim_id, self.batch_size, now, lambda: self.stopping
        )
        self.sent += sent
        if self.stopping:
            return mails
        ids = claim(now or timezone.now(), self.claim_id, self.batch_size)
        if not ids:
            return mails
        batch = load(ids, self.claim_id)
        for index, delivery in enumerate(batch):
            if self.stopping:
                release([d.pk for d in batch[index:]], self.claim_id)
                break
            if not renew(delivery.pk, self.claim_id, now or timezone.now()):
                log.warning(
                    "delivery %s: the lease ran out before its turn in the batch and "
                    "another worker has it now; skipped here",
                    delivery.pk,
                )
                continue
            if deliver(delivery, self.claim_id, now).outcome == Attempt.Outcome.SENT:
                self.sent += 1
        return mails + len(ids)

    def run(self, until_idle: bool = False) -> None:
        while not self.stopping:
            try:
                if time.monotonic() >= self.next_prune:
                    self.next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                    prune(timezone.now(), settings.NOTIFY_KEEP_DAYS)
                    prune_held_orders(timezone.now())
                    account_mail.prune(timezone.now(), settings.MAIL_KEEP_HOURS)
                if time.monotonic() >= self.next_compact:
                    self.next_compact = time.monotonic() + COMPACT_EVERY_SECONDS
                    compact_tallies()
                if time.monotonic() >= self.next_digest:
                    self.next_digest = time.monotonic() + DIGEST_EVERY_SECONDS
                    digest.schedule(timezone.now())
                claimed = self.run_once()
                database_outage.succeeded()
            except DatabaseError as exc:
                # The database went away: logged once for the outage (and summed up once a
                # minute), not a traceback per poll. Drop the connection, wait, carry on.
                database_outage.failed("worker loop", exc)
                connection.close()
                claimed = 0
                time.sleep(self.poll_seconds)
            except Exception:
                log.exception("worker loop failed; retrying")  # a bug: each one is news
                connection.close()
                claimed = 0
                time.sleep(self.poll_seconds)
            if claimed == 0:
                if until_idle:
                    return
                self._sleep(self.poll_seconds)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.1, seconds))
