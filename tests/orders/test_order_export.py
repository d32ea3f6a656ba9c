"""The order export: /projects/<id>/orders/export/?format=csv|xlsx plus the list's filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client

from tests.conftest import Team
from tests.orders.conftest import MakeOrder

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/orders/export/"


def content(r: Any) -> bytes:
    return b"".join(r.streaming_content)


def csv_rows(r: Any) -> list[list[str]]:
    body = content(r)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_it_exports_one_row_per_order_as_csv(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    team.shop.project.timezone = "Europe/Moscow"
    team.shop.project.save()
    make_order(
        team.shop.project,
        T0,
        external_id="A-1",
        username="Anna",
        email="anna@example.com",
        products=[{"name": "Tea", "price": 500, "count": 2}],
        data=[{"name": "City", "value": "Kazan"}, {"name": "Note", "value": "ring twice"}],
        client_ip="203.0.113.5",
    )
    make_order(team.shop.project, T0 + dt.timedelta(minutes=5), external_id="B-2")
    client.force_login(team.owner)

    r = client.get(url(team), {"format": "csv"})

    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"].startswith('attachment; filename="orders-shop-')
    assert r["Content-Disposition"].endswith('.csv"')
    rows = csv_rows(r)
    assert rows[0][:6] == [
        "Order",
        "Received (Europe/Moscow)",
        "Status",
        "Total",
        "Currency",
        "Products",
    ]
    assert [row[0] for row in rows[1:]] == ["B-2", "A-1"]
    anna = dict(zip(rows[0], rows[2], strict=True))
    assert anna["Received (Europe/Moscow)"] == "2026-05-01 15:00:00"
    assert anna["Status"] == "New"
    assert anna["Total"] == "990.00"
    assert anna["Currency"] == "RUB"
    assert anna["Products"] == "Tea: 2 @ 5.00"
    assert anna["Data"] == "City: Kazan; Note: ring twice"
    assert anna["E-mail"] == "anna@example.com"
    assert anna["Client address"] == "203.0.113.5"


def test_the_header_is_in_the_viewers_language(team: Team, client: Client) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team)))
    assert rows[0][0] == "Заказ"
    assert rows[0][1] == "Получено (UTC)"


def test_an_empty_list_gives_only_the_header(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team), {"format": "csv"}))
    assert len(rows) == 1
    assert rows[0][0] == "Order"


def test_amounts_use_the_currencys_exponent(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, T0, external_id="J", total=1500, currency="JPY")
    make_order(team.shop.project, T0, external_id="R", total=123456, currency="RUB")
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team)))
    totals = {row[0]: (row[3], row[4]) for row in rows[1:]}
    assert totals == {"J": ("1500", "JPY"), "R": ("1234.56", "RUB")}


def test_it_keeps_the_lists_filters(team: Team, client: Client, make_order: MakeOrder) -> None:
    project = team.shop.project
    make_order(project, T0, external_id="paid-rub", status="paid", username="Boris")
    make_order(project, T0, external_id="paid-usd", status="paid", currency="USD")
    make_order(project, T0, external_id="new-rub")
    make_order(project, T0 - dt.timedelta(days=10), external_id="old-paid", status="paid")
    client.force_login(team.owner)

    def ids(**params: str) -> list[str]:
        return sorted(row[0] for row in csv_rows(client.get(url(team), params))[1:])

    assert ids(status="paid") == ["old-paid", "paid-rub", "paid-usd"]
    assert ids(status="paid", currency="usd") == ["paid-usd"]
    assert ids(start="2026-05-01", end="2026-05-01") == ["new-rub", "paid-rub", "paid-usd"]
    assert ids(q="boris") == ["paid-rub"]


def test_a_bad_filter_is_refused(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    assert client.get(url(team), {"currency": "rubles"}).status_code == 400
    assert client.get(url(team), {"format": "pdf"}).status_code == 400


def test_product_line_mode_gives_one_row_per_product(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(
        team.shop.project,
        T0,
        external_id="A-1",
        total=2250,
        products=[
            {"name": "Tea", "price": 500, "count": 2},
            {"name": "Cup", "price": 1250, "count": 1},
        ],
    )
    make_order(team.shop.project, T0 - dt.timedelta(minutes=1), external_id="B-2", products=[])
    client.force_login(team.owner)

    rows = csv_rows(client.get(url(team), {"format": "csv", "lines": "1"}))

    assert rows[0][3:9] == ["Currency", "Order total", "Product", "Price", "Count", "Line total"]
    assert [row[:9] for row in rows[1:]] == [
        ["A-1", "2026-05-01 12:00:00", "New", "RUB", "22.50", "Tea", "5.00", "2", "10.00"],
        ["A-1", "2026-05-01 12:00:00", "New", "RUB", "22.50", "Cup", "12.50", "1", "12.50"],
        ["B-2", "2026-05-01 11:59:00", "New", "RUB", "990.00", "", "", "", ""],
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formulas_in_customer_data_are_neutralised(
    team: Team, client: Client, make_order: MakeOrder, start: str
) -> None:
    evil = start + 'HYPERLINK("http://evil.example")'
    make_order(team.shop.project, T0, external_id="X", username=evil)
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team)))
    assert rows[1][rows[0].index("Customer")] == "'" + evil


def test_it_exports_xlsx(team: Team, client: Client, make_order: MakeOrder) -> None:
    make_order(
        team.shop.project, T0, external_id="A-1", username="=1+1", total=1500, currency="JPY"
    )
    make_order(team.shop.project, T0, external_id="B-2", total=123456)
    client.force_login(team.owner)

    r = client.get(url(team), {"format": "xlsx"})

    assert r.status_code == 200
    assert r["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(content(r)), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:5] == ["Order", "Received (UTC)", "Status", "Total", "Currency"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"A-1", "B-2"}
    assert (by_id["A-1"][3], by_id["A-1"][4]) == (1500, "JPY")
    assert (by_id["B-2"][3], by_id["B-2"][4]) == (1234.56, "RUB")
    assert by_id["A-1"][6] == "=1+1"  # a text cell, not a formula


def test_a_viewer_may_export(team: Team, client: Client, make_order: MakeOrder) -> None:
    make_order(team.shop.project, T0, external_id="A-1")
    client.force_login(team.viewer)
    r = client.get(url(team))
    assert r.status_code == 200
    assert [row[0] for row in csv_rows(r)[1:]] == ["A-1"]


def test_an_outsider_gets_404(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team)).status_code == 404
    assert client.get(url(team), {"format": "xlsx"}).status_code == 404


def test_the_list_offers_the_export_with_its_filters(team: Team, client: Client) -> None:
    client.force_login(team.viewer)
    html = client.get(f"/projects/{team.shop.project.pk}/orders/", {"status": "paid"}).content
    page = html.decode()
    assert f'action="{url(team)}"' in page
    assert '<input type="hidden" name="status" value="paid">' in page
    assert "Export CSV" in page
    assert "Export Excel" in page
    assert 'name="lines"' in page


def test_it_exports_a_product_line_beyond_the_decimal_defaults_exactly(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    biggest = 2**63 - 1  # the API's limit for a price and for a count
    line = {"name": "Yacht", "price": biggest, "count": biggest}
    make_order(team.shop.project, T0, total=biggest, currency="USD", products=[line])
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team), {"format": "csv", "lines": "1"}))
    assert rows[1][8] == "850705917302346158473969077842325012.49"
    assert rows[1][4] == "92233720368547758.07"


@pytest.mark.parametrize("lines", ["0", "1"])
def test_it_says_which_orders_are_tests(
    team: Team, client: Client, make_order: MakeOrder, lines: str
) -> None:
    make_order(team.shop.project, T0, external_id="real-1")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=1), external_id="test-1", is_test=True)
    client.force_login(team.owner)
    rows = csv_rows(client.get(url(team), {"format": "csv", "lines": lines}))
    assert rows[0][-1] == "Test"
    assert [(row[0], row[-1]) for row in rows[1:]] == [("test-1", "yes"), ("real-1", "")]


def test_an_xlsx_export_longer_than_a_sheet_says_so_in_its_last_row(
    team: Team, client: Client, make_order: MakeOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orderreport.listing.export.XLSX_MAX_ROWS", 3)  # a sheet of 3 rows
    for n in range(5):
        make_order(team.shop.project, T0 + dt.timedelta(minutes=n), external_id=f"A-{n}")
    client.force_login(team.owner)

    sheet = openpyxl.load_workbook(
        io.BytesIO(content(client.get(url(team), {"format": "xlsx"}))), read_only=True
    ).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]

    assert len(rows) == 4  # the header, two orders, the note in the sheet's last row
    assert [row[0] for row in rows[1:3]] == ["A-4", "A-3"]
    assert rows[3][0] == (
        "Only the first 2 rows fit in an Excel sheet; the list has more. "
        "Export CSV for the whole list."
    )


def test_an_xlsx_export_that_just_fits_has_no_note(
    team: Team, client: Client, make_order: MakeOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orderreport.listing.export.XLSX_MAX_ROWS", 3)
    for n in range(3):
        make_order(team.shop.project, T0 + dt.timedelta(minutes=n), external_id=f"A-{n}")
    client.force_login(team.owner)

    sheet = openpyxl.load_workbook(
        io.BytesIO(content(client.get(url(team), {"format": "xlsx"}))), read_only=True
    ).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Order", "A-2", "A-1", "A-0"]
