"""The order list's polling fragment: /projects/<id>/orders/new/?since=<cursor>."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client

from orderreport.listing.queries import Cursor
from tests.conftest import Team, make_shop
from tests.orders.conftest import MakeOrder

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/orders/new/"


def order_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/\d+/orders/\d+/">([^<]*)</a>', html)


def test_it_returns_only_orders_newer_than_the_newest_shown(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, T0 - dt.timedelta(minutes=1), external_id="OLD")
    shown = make_order(team.shop.project, T0, external_id="SHOWN")
    make_order(team.shop.project, T0, external_id="SAME-TIME")  # a tie with a later id
    newest = make_order(team.shop.project, T0 + dt.timedelta(seconds=2), external_id="NEW")
    client.force_login(team.viewer)

    r = client.get(url(team), {"since": Cursor.of(shown).encode()})

    assert r.status_code == 200
    html = r.content.decode()
    assert order_ids(html) == ["NEW", "SAME-TIME"]
    # The answer starts with the next poller, which asks from the newest row it brought.
    poller = re.match(r'\s*<tr class="poller"[^>]* hx-get="([^"]+)"', html)
    assert poller is not None
    assert f"since={Cursor.of(newest).encode()}" in poller.group(1)


def test_it_answers_no_content_when_nothing_is_new(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    shown = make_order(team.shop.project, T0)
    client.force_login(team.owner)
    r = client.get(url(team), {"since": Cursor.of(shown).encode()})
    assert r.status_code == 204  # htmx keeps the current poller and rows
    assert r.content == b""


def test_it_applies_the_lists_filters(team: Team, client: Client, make_order: MakeOrder) -> None:
    shown = make_order(team.shop.project, T0, currency="USD")
    make_order(team.shop.project, T0 + dt.timedelta(seconds=1), external_id="RUB-1")
    make_order(team.shop.project, T0 + dt.timedelta(seconds=2), currency="USD", external_id="U-2")
    client.force_login(team.owner)
    r = client.get(url(team), {"since": Cursor.of(shown).encode(), "currency": "USD"})
    assert order_ids(r.content.decode()) == ["U-2"]


def test_it_never_brings_another_projects_orders(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    shown = make_order(team.shop.project, T0)
    other = make_shop(domain="elsewhere.example")
    make_order(other.project, T0 + dt.timedelta(seconds=1), external_id="THEIRS")
    client.force_login(team.owner)
    r = client.get(url(team), {"since": Cursor.of(shown).encode()})
    assert r.status_code == 204


def test_it_reloads_an_empty_list_when_the_first_order_arrives(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    client.force_login(team.owner)
    assert client.get(url(team), {"since": ""}).status_code == 204
    make_order(team.shop.project, T0)
    r = client.get(url(team), {"since": ""})
    assert r.status_code == 200
    assert r["HX-Refresh"] == "true"


def test_it_hides_the_project_from_an_outsider(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team), {"since": ""}).status_code == 404


def test_it_rejects_a_damaged_cursor(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    r = client.get(url(team), {"since": "<script>"})
    assert r.status_code == 400
    assert "<script>" not in r.content.decode()
    assert client.get(url(team)).status_code == 400  # no cursor at all


def test_it_escapes_customer_data(team: Team, client: Client, make_order: MakeOrder) -> None:
    shown = make_order(team.shop.project, T0)
    make_order(team.shop.project, T0 + dt.timedelta(seconds=1), username="<script>x</script>")
    client.force_login(team.owner)
    html = client.get(url(team), {"since": Cursor.of(shown).encode()}).content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_it_reloads_the_page_when_the_session_has_ended(team: Team, client: Client) -> None:
    # A redirect would be followed by htmx and the login page swapped into the table.
    r = client.get(url(team), {"since": ""})
    assert r.status_code == 200
    assert r["HX-Refresh"] == "true"
    assert r.content == b""
