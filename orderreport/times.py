"""Times for a reader: in the project's zone, in the reader's language, the same on every page,
e-mail and Telegram message ("Dec 2, 2026, 1:10 PM", "2 дек. 2026, 13:10")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

# CLDR's Russian medium date ends in the abbreviation of "year" and its dot:
# that dot doubles when the date ends a sentence, and the word is noise in a table.
_DATE_PATTERNS = {("ru", "medium"): "d MMM y", ("ru", "long"): "d MMMM y"}


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_day(
    value: dt.date | dt.datetime, language: str, zone: ZoneInfo | None = None, *, long: bool = False
) -> str:
    """A day: "Dec 2, 2026" in English, "2 дек. 2026" in Russian ("December 2, 2026" and
    "2 декабря 2026" when `long`); an aware datetime is first moved to `zone` (UTC when None)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(zone or dt.UTC).date()
    locale = _locale(language)
    width = "long" if long else "medium"
    pattern = _DATE_PATTERNS.get((locale.language, width), width)
    return format_date(value, pattern, locale=locale)


def format_moment(
    value: dt.datetime, zone: ZoneInfo, language: str, *, seconds: bool = False
) -> str:
    """An aware time in `zone`: "Dec 2, 2026, 1:10 PM" in English, "2 дек. 2026, 13:10" in
    Russian; with seconds for delivery attempts, where they tell tries apart."""
    local = value.astimezone(zone)
    locale = _locale(language)
    time = format_time(local, "medium" if seconds else "short", locale=locale)
    glue = str(locale.datetime_formats["medium"])
    return glue.replace("{1}", format_day(local.date(), language)).replace("{0}", time)
