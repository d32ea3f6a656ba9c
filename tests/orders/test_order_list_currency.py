"""The order list's currency filter: a select of the currencies the project has orders in."""

from __future__ import annotations

import pytest
from django.test import Client

from orderreport.orders.queries import order_currencies
from tests.conftest import Team, make_shop
from tests.orders.conftest import MakeOrder
from tests.orders.test_order_list import order_ids, url
from tests.projects.test_pickers import Option, select


@pytest.fixture
def orders(team: Team, make_order: MakeOrder) -> None:
    project = team.shop.project
    make_order(project, external_id="R-1", currency="RUB")
    make_order(project, external_id="U-1", currency="USD")
    make_order(project, external_id="R-2", currency="RUB")
    make_order(project, external_id="S-1", currency="SUR")  # the API still takes old codes
    # Another tenant's currency is none of this project's business.
    make_order(make_shop().project, external_id="K-1", currency="KZT")


@pytest.mark.usefixtures("orders")
@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("en", ["Any currency", "RUB · Russian Ruble", "SUR · Soviet Rouble", "USD · US Dollar"]),
        ("ru", ["Любая валюта", "RUB · российский рубль", "SUR · Рубль СССР", "USD · доллар США"]),  # noqa: RUF001
    ],
)
def test_it_offers_the_currencies_the_project_has_orders_in(
    team: Team, client: Client, language: str, labels: list[str]
) -> None:
    team.owner.language = language
    team.owner.save()
    client.force_login(team.owner)

    options = select(client.get(url(team)).text, "currency").options

    assert [o.label for o in options] == labels
    assert [o.value for o in options] == ["", "RUB", "SUR", "USD"]
    assert options[0].selected


@pytest.mark.usefixtures("orders")
def test_it_filters_by_the_chosen_currency(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    html = client.get(url(team), {"currency": "USD"}).text
    assert order_ids(html) == ["U-1"]
    assert Option("", "USD", "USD · US Dollar", True) in select(html, "currency").options


@pytest.mark.usefixtures("orders")
@pytest.mark.parametrize(
    ("typed", "shown", "ids"),
    [("usd", "USD", ["U-1"]), (" rub ", "RUB", ["R-2", "R-1"]), ("eur", "EUR", [])],
)
def test_it_keeps_old_links_with_a_typed_currency_working(
    team: Team, client: Client, typed: str, shown: str, ids: list[str]
) -> None:
    client.force_login(team.owner)
    response = client.get(url(team), {"currency": typed})
    assert response.status_code == 200
    assert order_ids(response.text) == ids
    options = select(response.text, "currency").options
    assert [o.value for o in options if o.selected] == [shown]
    if not ids:  # a currency without orders: shown chosen, and the list says nothing matches
        assert "No orders match these filters." in response.text


@pytest.mark.usefixtures("orders")
def test_it_still_explains_a_malformed_currency(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    response = client.get(url(team), {"currency": "US"})
    assert response.status_code == 400
    assert "Enter a three-letter currency code, such as RUB." in response.text


def test_it_lists_each_currency_once_in_order(team: Team, make_order: MakeOrder) -> None:
    assert order_currencies(team.shop.project.pk) == []
    for currency in ["USD", "RUB", "USD", "EUR", "RUB", "AMD"]:
        make_order(team.shop.project, currency=currency)
    assert order_currencies(team.shop.project.pk) == ["AMD", "EUR", "RUB", "USD"]
