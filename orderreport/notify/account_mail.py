"""The worker's side of account mail (queued by accounts/mail.py): claim, send, record, prune.

The same lease and retry schedule as notifications (lease.py) and the same reading of SMTP's
answers (transports/email.py): a 5xx is final, anything else is tried again with backoff until
NOTIFY_RETRY_HOURS after the mail was queued. The mail goes through Django's mail connection:
SMTP in production, the console under `orderreport run` without a mail server, locmem in tests.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from orderreport.accounts.models import QueuedMail
from orderreport.notify import lease
from orderreport.notify.transports import TransportError
from orderreport.notify.transports.email import send_message
from orderreport.outage import Outage

log = logging.getLogger(__name__)

# An SMTP server that is down fails every queued mail in turn; one line when it starts, a
# count once a minute, one line when it is back.
smtp_outage = Outage("SMTP server", log, "account mails postponed")


def claim(now: dt.datetime, claim_id: str, limit: int) -> list[int]:
    """Reserve up to `limit` due mails for this worker until now + the lease."""
    return lease.claim(QueuedMail, now, claim_id, limit)


def renew(mail_id: int, claim_id: str, now: dt.datetime) -> bool:
    """Extend this worker's lease on one mail; False when another worker has it now."""
    return lease.renew(QueuedMail, mail_id, claim_id, now)


def release(ids: list[int], claim_id: str) -> None:
    """Give back claimed mails not yet sent (on shutdown), so others need not wait."""
    lease.release(QueuedMail, ids, claim_id)


def send(mail: QueuedMail) -> None:
    """Hand one mail to Django's mail connection; TransportError when that fails."""
    message = EmailMultiAlternatives(mail.subject, mail.text, mail.from_email or None, [mail.to])
    if mail.html and not mail.text:
        message.body, message.content_subtype = mail.html, "html"
    elif mail.html:
        message.attach_alternative(mail.html, "text/html")
    send_message(message)


def deliver(mail: QueuedMail, claim_id: str, now: dt.datetime | None = None) -> bool:
    """Send one claimed mail and record the outcome; True when it was sent."""
    now = now or timezone.now()
    error: TransportError | None = None
    try:
        send(mail)
    except TransportError as exc:
        error = exc
    except Exception as exc:  # a bug must not stop the worker or lose the mail
        log.exception("account mail %s: unexpected error", mail.pk)
        error = TransportError(f"Internal error: {type(exc).__name__}")
    attempts = mail.attempts + 1
    fields: dict[str, object] = {"attempts": attempts, "claimed_until": None, "claim": ""}
    if error is None:
        smtp_outage.succeeded()
        fields.update(status=QueuedMail.Status.SENT, sent_at=now, last_error="")
    else:
        next_at = now + lease.retry_delay(attempts)
        give_up = next_at > mail.created + dt.timedelta(hours=settings.NOTIFY_RETRY_HOURS)
        if error.permanent or give_up:
            fields.update(status=QueuedMail.Status.FAILED)
            log.warning("account mail %s not sent, given up: %s", mail.pk, error)
        else:
            fields.update(next_attempt_at=next_at)
            smtp_outage.failed(f"account mail {mail.pk} postponed", error)
        fields.update(last_error=str(error)[:2000])
    QueuedMail.objects.filter(pk=mail.pk, claim=claim_id).update(**fields)
    return error is None


def send_due(
    claim_id: str,
    limit: int,
    now: dt.datetime | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[int, int]:
    """Claim and send one batch of due mails; (claimed, sent)."""
    ids = claim(now or timezone.now(), claim_id, limit)
    sent = 0
    batch = list(
        QueuedMail.objects.filter(
            pk__in=ids, claim=claim_id, status=QueuedMail.Status.PENDING
        ).order_by("next_attempt_at", "id")
    )
    for index, mail in enumerate(batch):
        if stopping():
            release([m.pk for m in batch[index:]], claim_id)
            break
        if not renew(mail.pk, claim_id, now or timezone.now()):
            continue  # the lease ran out and another worker has it now
        if deliver(mail, claim_id, now):
            sent += 1
    return len(ids), sent


def prune(now: dt.datetime, keep_hours: int) -> int:
    """Delete sent and given-up mails queued more than keep_hours ago: their links are live
    secrets (a password reset, an address confirmation), so they are not kept for long."""
    cutoff = now - dt.timedelta(hours=keep_hours)
    deleted, _ = (
        QueuedMail.objects.filter(created__lt=cutoff)
        .exclude(status=QueuedMail.Status.PENDING)
        .delete()
    )
    return deleted
