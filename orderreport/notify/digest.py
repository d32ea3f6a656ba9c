"""The daily summary: yesterday's figures of a project, sent to a channel at a local hour.

When. The digest of local day D is due from hour H of day D+1 (the channel's `digest_hour`,
in the project's time zone; an hour skipped by a DST change means the first instant after it)
until the end of D+1. The worker asks every 30 s which channels are due (`schedule`); a worker
that was down at the hour queues it when it comes back on D+1, and a day it missed entirely
is not caught up (no backlog of stale summaries). A channel gets no summary that fell due
before it was switched on (`digest_since`): one created or switched on after the hour starts
with the next day's.

Exactly once. Each summary is an outbox row with the key "digest:<channel>:<D>", unique in
the database (Delivery.once_key) and inserted ignoring conflicts, so workers side by side and
a worker restarted at the hour queue one row, not two; once queued, the row is sent like any
other delivery (claimed under a lease, retried on failure).

Figures. Computed when the delivery is sent, not when it is queued: the queuing pass stays a
couple of cheap queries however many channels fall due at once, a retry shows what is true by
then (an order of yesterday cancelled this morning is counted as cancelled), and the outbox
row holds no copy of customer data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from orderreport.listing.queries import project_zone
from orderreport.notify.models import Channel, Delivery
from orderreport.projects.models import Event, Project
from orderreport.reports.figures import Money, Period, ProductFigures, report

CHUNK = 500


def once_key(channel_id: int, day: dt.date) -> str:
    return f"digest:{channel_id}:{day.isoformat()}"


def due(zone: ZoneInfo, hour: int, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """(the day whose summary falls due today, the instant it falls due), today being the
    local day of `now` in `zone`."""
    today = now.astimezone(zone).date()
    # A local hour skipped by a DST change (fold=0) resolves to the instant after the gap.
    at = dt.datetime.combine(today, dt.time(hour), zone).astimezone(dt.UTC)
    return today - dt.timedelta(days=1), at


def schedule(now: dt.datetime) -> int:
    """Queue the summaries due at `now` that are not queued yet; returns how many were new
    to this pass (another worker's concurrent insert of the same key is ignored)."""
    wanted: dict[str, tuple[int, dt.date]] = {}
    channels = Channel.objects.filter(is_active=True, sends_digest=True).values_list(
        "pk", "digest_hour", "digest_since", "project__timezone"
    )
    for channel_id, hour, since, zone_name in channels.iterator(chunk_size=2000):
        day, at = due(project_zone(zone_name), hour, now)
        if now >= at and since is not None and since <= at:
            wanted[once_key(channel_id, day)] = (channel_id, day)
    keys = list(wanted)
    queued = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        # Read first so a pass after the hour is a single indexed lookup; the unique key,
        # not this read, is what keeps two workers from queuing the same summary.
        done = set(Delivery.objects.filter(once_key__in=chunk).values_list("once_key", flat=True))
        rows = [
            Delivery(
                channel_id=wanted[key][0],
                topic=Delivery.Topic.DIGEST,
                digest_day=wanted[key][1],
                once_key=key,
                next_attempt_at=now,
                created=now,
            )
            for key in chunk
            if key not in done
        ]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        queued += len(rows)
    return queued


def overview_url(project_id: int) -> str:
    return f"{settings.BASE_URL}/projects/{project_id}/"


@dataclass
class CurrencyFigures:
    """One currency's day against the day before, and its best seller by revenue."""

    day: Money
    before: Money
    top: ProductFigures | None

    @property
    def currency(self) -> str:
        return self.day.currency


@dataclass
class Digest:
    project: Project
    day: dt.date
    zone: ZoneInfo
    currencies: list[CurrencyFigures]  # most orders first; a currency of either day
    leads: int
    previous_leads: int
    has_events: bool
    url: str


def figures(project: Project, day: dt.date) -> Digest:
    """The figures of local day `day` of `project` against the day before."""
    zone = project_zone(project.timezone)
    figures = report([project.pk], Period(day, day, zone), "day")
    seen = figures.currencies
    gone = sorted(c for c, m in figures.previous.items() if c not in seen and m.orders)
    by_currency = {m.currency: m for m in figures.money}
    # The report ranks products within each currency: every currency has its best seller.
    currencies = [
        CurrencyFigures(
            day=by_currency.get(currency) or Money(currency),
            before=figures.previous_of(currency),
            top=next((p for p in figures.top_by_revenue if p.currency == currency), None),
        )
        for currency in [*seen, *gone]
    ]
    return Digest(
        project=project,
        day=day,
        zone=zone,
        currencies=currencies,
        leads=figures.leads,
        previous_leads=figures.previous_leads,
        has_events=Event.objects.filter(project_id=project.pk).exists(),
        url=overview_url(project.pk),
    )


def of(delivery: Delivery) -> Digest:
    """The figures a summary delivery announces, read now."""
    assert delivery.channel is not None and delivery.digest_day is not None
    return figures(delivery.channel.project, delivery.digest_day)
