"""The event record lists' export: one row per record."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from orderreport.events.queries import RecordFilters, filtered_records
from orderreport.listing.export import EXPORT_CHUNK, Cell, local_time, pairs_text
from orderreport.listing.views import data_pairs


def record_header(zone: ZoneInfo) -> list[str]:
    return [
        _("Received (%(zone)s)") % {"zone": zone.key},
        _("Event"),
        _("Data"),
        _("Origin"),
        _("Client address"),
    ]


def record_rows(project_id: int, filters: RecordFilters, zone: ZoneInfo) -> Iterator[list[Cell]]:
    """The rows of the export, newest record first, read `EXPORT_CHUNK` at a time."""
    qs = (
        filtered_records(project_id, filters)
        .order_by("-received_at", "-id")
        .values_list("received_at", "event__name", "data", "origin", "client_ip")
    )
    for received, event, data, origin, ip in qs.iterator(chunk_size=EXPORT_CHUNK):
        yield [local_time(received, zone), event, pairs_text(data_pairs(data)), origin, ip or ""]
