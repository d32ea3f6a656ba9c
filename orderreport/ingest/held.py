"""Held orders (rule "limit", ingest/__init__.py): released when the account has room again.

An order refused with 402 is kept in accounts.HeldOrder. When the account moves to another
plan (accounts.services.set_plan: the `set-plan` command, the admin, a billing hook), its held
orders go through the recording rules again, oldest first, as orders of the current period:
the batch statement takes the usage lock as any request does, so the quota stays exact while
the shop keeps sending, and what does not fit stays held. A released order is counted, tallied
and notified as if just tracked: its `received_at` is the release time (the period it counts
in is the one it is released into, and reports of a closed period do not change afterwards).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from orderreport.accounts.models import Account, HeldOrder, Usage
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import UNLIMITED, OrderItem, OrderRow, Outcome, new_tag


def release_held(account: Account, now: dt.datetime | None = None) -> int:
    """Record the account's unexpired held orders, in arrival order, while its plan has room.

    Returns how many were recorded. Runs in the caller's transaction if there is one.
    """
    now = now or timezone.now()
    start, end = account.current_period(now.date())
    limit = (
        Account.objects.filter(pk=account.pk)
        .values_list("plan__monthly_order_limit", flat=True)
        .first()
    )
    used = Usage.objects.filter(account=account, period_start=start).values_list("used", flat=True)
    # Read without the lock: orders recorded meanwhile only make the room smaller, and the
    # batch below, under the lock, decides exactly.
    room = (UNLIMITED if limit is None else limit) - (used.first() or 0)
    if room <= 0:
        return 0
    with transaction.atomic():
        held = list(
            HeldOrder.objects.filter(account=account, expires_at__gt=now).order_by(
                "received_at", "id"
            )[: min(room, 10_000)]
        )
        if not held:
            return 0
        items = [
            OrderItem(
                key_id=None,
                account_id=account.pk,
                period_start=start,
                period_end=end,
                row=OrderRow(
                    project_id=h.project_id,
                    external_id=h.external_id,
                    total=h.total,
                    currency=h.currency,
                    username=h.username,
                    email=h.email,
                    phone=h.phone,
                    products=h.products,
                    data=h.data,
                    origin=h.origin,
                    client_ip=h.client_ip,
                    user_agent=h.user_agent,
                    received_at=now,
                    ingest_tag=new_tag(),
                ),
            )
            for h in held
        ]
        results = record_in_transaction(items)
        # Recorded: rule "record" took the held copy. A duplicate: the shop's retry was
        # recorded meanwhile (or another release): the held copy has nothing left to add.
        # Refused for the limit: stays held as it was.
        pairs = zip(held, results, strict=True)
        HeldOrder.objects.filter(
            pk__in=[h.pk for h, r in pairs if r.outcome is Outcome.DUPLICATE]
        ).delete()
    return sum(r.outcome is Outcome.CREATED for r in results)
