"""Exports of the dashboard's lists (orders, event records) as CSV and XLSX, streamed.

Both read the list's query with `.iterator(chunk_size=EXPORT_CHUNK)` (a server-side cursor on
PostgreSQL) and hold one chunk of rows at a time, however long the list:

- CSV is written row by row into a StreamingHttpResponse: UTF-8 with a BOM, so that Excel
  reads it as UTF-8 in Russian and English locales alike.
- XLSX is written by XlsxWriter in constant_memory mode (each row goes to disk as it is
  written) into an anonymous temporary file, which is then streamed.

Cells are customer data: a text cell that starts like a formula gets a leading apostrophe
in the CSV (spreadsheets then show it as text); the XLSX writes every text as a string cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from orderreport.dbdeadline import each_within_deadline

EXPORT_CHUNK = 2000
BOM = "\ufeff"
FORMATS = ("csv", "xlsx")
# An XLSX sheet has 1,048,576 rows; the header takes one.
XLSX_MAX_ROWS = 1_048_575
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NOT_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | Decimal | None


def safe_text(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def local_time(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """An aware time as "YYYY-MM-DD HH:MM:SS" in the project's zone."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def pairs_text(pairs: Iterable[tuple[str, str]]) -> str:
    """Data pairs on one line: "name: value; name: value"."""
    return "; ".join(f"{name}: {value}" for name, value in pairs)


def filename(kind: str, project_name: str, project_id: int) -> str:
    """An ASCII file name without extension: "orders-my-shop-2026-05-01" (the id when the
    name has no ASCII letters, as a Cyrillic one)."""
    ascii_name = unicodedata.normalize("NFKD", project_name).encode("ascii", "ignore").decode()
    slug = _NOT_FILENAME.sub("-", ascii_name).strip("-._").lower()[:60] or f"project-{project_id}"
    return f"{kind}-{slug}-{timezone.localdate().isoformat()}"


class _Echo:
    """A file whose write() returns what it was given: csv.writer then yields lines."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow(header)).encode()
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([safe_text(c) if isinstance(c, str) else c for c in row]))
        if len(batch) >= 200:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def _attachment(response: Any, name: str) -> Any:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def csv_response(
    name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    return _attachment(response, name)


def write_xlsx(out: Any, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write the rows into `out` (a file name or a binary file), one sheet, in constant memory."""
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    row_number = 0
    rows = iter(rows)
    for row in rows:
        row_number += 1
        if row_number == XLSX_MAX_ROWS and next(rows, None) is not None:
            # The sheet's last row, with more rows to come than fit: a note takes it, so no
            # one takes the file for the whole list.
            note = gettext(
                "Only the first %(count)s rows fit in an Excel sheet; the list has more. "
                "Export CSV for the whole list."
            ) % {"count": number_format(row_number - 1, force_grouping=True)}
            sheet.write_string(row_number, 0, note, bold)
            break
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(row_number, col, value)
            else:
                sheet.write_number(row_number, col, value)
    workbook.close()


def xlsx_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> FileResponse:
    # Anonymous: the file has no name on disk and goes away when the response closes it.
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it)
    try:
        write_xlsx(out, header, rows)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    response = FileResponse(
        out,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return _attachment(response, name)


def export_response(
    fmt: str, name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> StreamingHttpResponse | FileResponse:
    """The export in the asked format ("csv" or "xlsx"); `name` without its extension."""
    # A database that hangs mid-export costs the download its query deadline, not forever.
    rows = each_within_deadline(rows)
    if fmt == "xlsx":
        return xlsx_response(f"{name}.xlsx", header, rows)
    return csv_response(f"{name}.csv", header, rows)


def export_query(params: Any) -> list[tuple[str, str]]:
    """The list's filters as hidden fields of the export form (no page cursor, no format)."""
    return [
        (key, value)
        for key, values in params.lists()
        if key not in ("after", "before", "format", "lines", "since")
        for value in values
    ]
