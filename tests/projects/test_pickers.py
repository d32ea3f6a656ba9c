"""The currency and time-zone pickers of the project forms (/projects/ and a project's settings):
current ISO 4217 codes with common ones first, canonical zones by region, in the reader's
language; what a project already has is kept."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account
from orderreport.projects.models import Project
from orderreport.projects.pickers import zone_aliases
from tests.conftest import Team


@dataclass(frozen=True)
class Option:
    group: str
    value: str
    label: str
    selected: bool


class _Select(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.inside = False
        self.attrs: dict[str, str | None] = {}
        self.group = ""
        self.current: dict[str, str | None] | None = None
        self.label = ""
        self.options: list[Option] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "select" and found.get("name") == self.name:
            self.inside, self.attrs = True, found
        elif self.inside and tag == "optgroup":
            self.group = found.get("label") or ""
        elif self.inside and tag == "option":
            self.current, self.label = found, ""

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self.current is not None:
            value = self.current.get("value") or ""
            selected = "selected" in self.current
            self.options.append(Option(self.group, value, self.label.strip(), selected))
            self.current = None
        elif tag == "optgroup":
            self.group = ""
        elif tag == "select":
            self.inside = False


def select(html: str, name: str) -> _Select:
    parser = _Select(name)
    parser.feed(html)
    assert parser.options, f"no <select name={name}>"
    return parser


def chosen(html: str, name: str) -> str:
    return next(o.value for o in select(html, name).options if o.selected)


def _newcomer(email: str = "new@example.com", language: str = "en") -> User:
    user = User.objects.create_user(email, "pw-new-12345", language=language)
    create_account(user, "New")
    return user


@pytest.mark.parametrize(
    ("language", "common", "rub", "everything"),
    [
        ("en", "Common", "RUB · Russian Ruble", "All currencies"),
        ("ru", "Частые", "RUB · российский рубль", "Все валюты"),  # noqa: RUF001
    ],
)
def test_it_offers_current_currencies_common_ones_first(
    client: Client, db: None, language: str, common: str, rub: str, everything: str
) -> None:
    client.force_login(_newcomer(language=language))
    options = select(client.get("/projects/").text, "currency").options

    assert [o.value for o in options[:4]] == ["RUB", "USD", "EUR", "KZT"]
    assert options[0] == Option(common, "RUB", rub, True)
    groups = list(dict.fromkeys(o.group for o in options))
    assert groups == [common, everything]
    listed = {o.value for o in options}
    assert {"KZT", "BYN", "UAH", "CNY", "XOF", "JPY"} <= listed
    # Historic codes and the X-codes that are not money.
    assert not listed & {"SUR", "RUR", "DEM", "XXX", "XTS", "XAU", "XDR", "BYR"}


@pytest.mark.parametrize(
    ("language", "europe", "moscow", "tokyo"),
    [
        ("en", "Europe", "Moscow (UTC+03:00)", "Tokyo (UTC+09:00)"),
        ("ru", "Европа", "Москва (UTC+03:00)", "Токио (UTC+09:00)"),
    ],
)
def test_it_offers_canonical_zones_by_region_with_city_and_offset(
    client: Client, db: None, language: str, europe: str, moscow: str, tokyo: str
) -> None:
    client.force_login(_newcomer(language=language))
    options = select(client.get("/projects/").text, "timezone").options
    by_value = {o.value: o for o in options}

    assert options[0] == Option("", "UTC", "UTC", True)
    assert by_value["Europe/Moscow"] == Option(europe, "Europe/Moscow", moscow, False)
    assert by_value["Asia/Tokyo"].label == tokyo
    assert by_value["Europe/Oslo"].group == europe  # each country's own city
    assert "Asia/Kolkata" in by_value and "Europe/Kyiv" in by_value
    for alias in ("US/Eastern", "Etc/GMT+3", "W-SU", "Asia/Calcutta", "Europe/Kiev", "Etc/UTC"):
        assert alias not in by_value
    # Every zone is in its region's group.
    for option in options[1:]:
        assert option.group, option


def test_it_defaults_a_new_project_to_the_accounts_zone_and_lets_the_browser_say(
    client: Client, team: Team
) -> None:
    team.shop.project.timezone = "Asia/Tashkent"
    team.shop.project.save()
    client.force_login(team.admin)
    page = client.get("/projects/").text
    assert chosen(page, "timezone") == "Asia/Tashkent"
    picker = select(page, "timezone")
    assert "data-browser-zone" in picker.attrs
    assert '"Asia/Calcutta": "Asia/Kolkata"' in (picker.attrs["data-zone-aliases"] or "")
    assert "js/zone-picker" in page

    # Re-shown after an error, the form keeps the user's choice and the script leaves it.
    page = client.post("/projects/", {"name": "", "timezone": "Asia/Tokyo", "currency": "RUB"})
    assert chosen(page.text, "timezone") == "Asia/Tokyo"
    assert "data-browser-zone" not in select(page.text, "timezone").attrs


def test_it_defaults_to_utc_without_other_projects(client: Client, db: None) -> None:
    client.force_login(_newcomer())
    assert chosen(client.get("/projects/").text, "timezone") == "UTC"


def test_it_says_what_to_choose_for_an_alias_or_a_retired_currency(
    client: Client, team: Team
) -> None:
    client.force_login(team.admin)
    fields = {"name": "Third", "timezone": "US/Eastern", "currency": "sur"}
    response = client.post("/projects/", fields)

    assert response.status_code == 200
    assert "US/Eastern is another name for America/New_York; choose America/New_York" in (
        response.text
    )
    assert "SUR is no longer in use; choose a current currency from the list." in response.text
    assert not Project.objects.filter(name="Third").exists()


def test_it_keeps_a_projects_alias_zone_and_retired_currency(client: Client, team: Team) -> None:
    project = team.shop.project
    project.timezone, project.currency = "US/Eastern", "SUR"
    project.save()
    client.force_login(team.owner)
    url = reverse("projects:settings", args=[project.pk])

    page = client.get(url).text
    zone = next(o for o in select(page, "timezone").options if o.selected)
    assert (zone.value, zone.label.split(" (")[0]) == ("US/Eastern", "US/Eastern")
    currency = next(o for o in select(page, "currency").options if o.selected)
    assert (currency.value, currency.label) == ("SUR", "SUR · Soviet Rouble")

    response = client.post(url, {"name": "Renamed", "timezone": "US/Eastern", "currency": "SUR"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.timezone, project.currency) == ("Renamed", "US/Eastern", "SUR")

    # Once changed, it is a canonical zone like any other.
    client.post(url, {"name": "Renamed", "timezone": "America/New_York", "currency": "USD"})
    project.refresh_from_db()
    assert (project.timezone, project.currency) == ("America/New_York", "USD")
    assert "US/Eastern" not in {o.value for o in select(client.get(url).text, "timezone").options}


def test_it_maps_the_names_browsers_report_to_offered_zones() -> None:
    aliases = zone_aliases()
    assert aliases["Europe/Kiev"] == "Europe/Kyiv"
    assert aliases["America/Buenos_Aires"] == "America/Argentina/Buenos_Aires"
    assert aliases["Etc/UTC"] == "UTC"
    assert "Europe/Moscow" not in aliases  # an offered zone is no alias
