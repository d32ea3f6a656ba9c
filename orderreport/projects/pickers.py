"""The choices of the currency and time-zone pickers, from Babel's and tzdata's own tables.

Pickers only: orders may carry any ISO 4217 code the API accepts (orderreport.money), and a
project may keep a time zone it was given before the picker offered canonical zones only.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache, lru_cache
from importlib import resources

from babel.core import get_global
from babel.dates import get_timezone_location
from babel.numbers import get_currency_name, get_territory_currencies
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

# Choices as Django takes them: (value, label) pairs, or (group label, pairs) for an optgroup.
Choices = list[tuple[str, object]]

# What shops using OrderReport sell in most, first in the currency picker (in this order).
COMMON_CURRENCIES = ("RUB", "USD", "EUR", "KZT", "BYN", "UAH", "UZS", "GBP", "CNY", "TRY")

# The time-zone picker's groups, in this order: the first part of a zone's name.
REGIONS = {
    "Europe": _("Europe"),
    "Asia": _("Asia"),
    "America": _("America"),
    "Africa": _("Africa"),
    "Australia": _("Australia"),
    "Pacific": _("Pacific Ocean"),
    "Atlantic": _("Atlantic Ocean"),
    "Indian": _("Indian Ocean"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
}


def _locale() -> str:
    return "ru" if (translation.get_language() or "en").startswith("ru") else "en"


# --- Currencies --------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def current_currencies(day: dt.date) -> frozenset[str]:
    """ISO 4217 codes legal tender somewhere on `day`, by CLDR's territory data.

    Leaves out what no country pays in any more (SUR, BGN since 2026) and the X-codes that are
    not money (XXX, XTS, XAU, XDR); keeps the CFA francs and the like (XOF, XAF).
    """
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, day, tender=True))
    return frozenset(codes)


def currency_label(code: str, locale: str) -> str:
    """ "RUB · Russian Ruble", or "RUB · российский рубль"; a code Babel cannot name, alone."""
    name = get_currency_name(code, locale=locale)
    return f"{code} · {name}" if name != code else code


@lru_cache(maxsize=4)
def _currency_choices(locale: str, day: dt.date) -> Choices:
    codes = current_currencies(day)
    common = [c for c in COMMON_CURRENCIES if c in codes]
    with override(locale):
        return [
            (str(_("Common")), [(c, currency_label(c, locale)) for c in common]),
            (str(_("All currencies")), [(c, currency_label(c, locale)) for c in sorted(codes)]),
        ]


def currency_choices(keep: str = "") -> Choices:
    """The currency picker: common ones first, then every current code, in the reader's
    language; `keep` (a project's present currency, even a historic one) stays offered."""
    locale = _locale()
    choices = _currency_choices(locale, timezone.now().date())
    if keep and keep not in current_currencies(timezone.now().date()):
        return [(keep, currency_label(keep, locale)), *choices]
    return choices


# --- Time zones ----------------------------------------------------------------------------


def _tzdata_table(name: str) -> str:
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@cache
def canonical_zones() -> frozenset[str]:
    """The zones tzdata's zone.tab lists for the countries, and UTC: no aliases (US/Eastern,
    Etc/GMT+3, W-SU), each country's own cities (Oslo, not only Berlin)."""
    zones = {"UTC"}
    for line in _tzdata_table("zone.tab").splitlines():
        if line and not line.startswith("#"):
            zones.add(line.split("\t")[2])
    # A name the zone database in use does not know could not be saved (zoneinfo refuses it).
    return frozenset(zones & (zoneinfo.available_timezones() | {"UTC"}))


@cache
def zone_aliases() -> dict[str, str]:
    """Other names of the offered zones, as browsers may report them: {"Asia/Calcutta":
    "Asia/Kolkata", "Europe/Kiev": "Europe/Kyiv", "Etc/UTC": "UTC", ...}."""
    offered = canonical_zones()
    links: dict[str, str] = {}
    for line in _tzdata_table("tzdata.zi").splitlines():
        if line.startswith("L "):
            _l, target, alias = line.split()
            links[alias] = target
    aliases = {}
    for alias, target in links.items():
        target = links.get(target, target)
        if target == "Etc/UTC":
            target = "UTC"
        if alias not in offered and target in offered:
            aliases[alias] = target
    aliases["Etc/UTC"] = "UTC"
    return aliases


def utc_offset(zone: str, now: dt.datetime) -> str:
    """ "UTC+03:00", "UTC\u221203:30" (a minus sign), "UTC+00:00": the offset at `now`."""
    try:
        offset = now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or dt.timedelta(0)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "\u2212"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(zone: str, locale: str, now: dt.datetime) -> str:
    """ "Yekaterinburg (UTC+05:00)", "Екатеринбург (UTC+05:00)"; an alias by its name."""
    if zone == "UTC":
        return zone
    if zone in canonical_zones():
        city = get_timezone_location(zone, locale=locale, return_city=True)
    else:
        city = zone.replace("_", " ")
    offset = utc_offset(zone, now)
    return f"{city} ({offset})" if offset else city


@lru_cache(maxsize=4)
def _timezone_choices(locale: str, hour: dt.datetime) -> Choices:
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    for zone in canonical_zones():
        region = zone.split("/", 1)[0]
        if region in groups:
            groups[region].append((zone, zone_label(zone, locale, hour)))
    with override(locale):
        return [
            ("UTC", zone_label("UTC", locale, hour)),
            *(
                (str(REGIONS[region]), sorted(zones, key=lambda z: z[1].casefold()))
                for region, zones in groups.items()
                if zones
            ),
        ]


def timezone_choices(keep: str = "") -> Choices:
    """The time-zone picker: UTC, then canonical zones by region, each labelled with its city
    in the reader's language and its offset now; `keep` (a project's present zone, even an
    alias) stays offered, first, so saving the form never changes it unasked."""
    locale = _locale()
    # Offsets change with daylight saving: labels are worked out again every hour.
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    choices = _timezone_choices(locale, hour)
    if keep and keep not in canonical_zones():
        return [(keep, zone_label(keep, locale, hour)), *choices]
    return choices
