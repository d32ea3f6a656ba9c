"""Times for a reader (orderreport.times): the project's zone, the reader's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from orderreport.times import format_day, format_moment

MOSCOW = ZoneInfo("Europe/Moscow")
# 22:10 UTC on 1 December is 01:10 on 2 December in Moscow.
AT = dt.datetime(2026, 12, 1, 22, 10, 5, tzinfo=dt.UTC)


def test_it_writes_a_day_as_readers_of_each_language_do() -> None:
    assert format_day(dt.date(2026, 12, 2), "en") == "Dec 2, 2026"
    assert format_day(dt.date(2026, 12, 2), "ru") == "2 дек. 2026"
    assert format_day(dt.date(2026, 12, 2), "ru", long=True) == "2 декабря 2026"
    assert format_day(dt.date(2026, 12, 2), "en", long=True) == "December 2, 2026"


def test_it_moves_a_time_into_the_projects_zone_first() -> None:
    assert format_day(AT, "en", MOSCOW) == "Dec 2, 2026"
    assert format_moment(AT, MOSCOW, "ru") == "2 дек. 2026, 01:10"
    assert format_moment(AT, MOSCOW, "ru", seconds=True) == "2 дек. 2026, 01:10:05"
    # CLDR puts a narrow no-break space before AM/PM.
    assert format_moment(AT, MOSCOW, "en").replace("\u202f", " ") == "Dec 2, 2026, 1:10 AM"


def test_it_never_ends_in_an_abbreviations_dot() -> None:
    for language in ("en", "ru"):
        for month in range(1, 13):
            day = dt.date(2026, month, 1)
            assert not format_day(day, language).endswith(".")
            assert not format_day(day, language, long=True).endswith(".")
        assert not format_moment(AT, MOSCOW, language).endswith(".")


def test_it_falls_back_to_english_for_an_unknown_language() -> None:
    assert format_day(dt.date(2026, 12, 2), "xx-nowhere") == "Dec 2, 2026"
