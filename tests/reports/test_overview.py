"""The overview pages: a project's (/projects/<id>/) and an account's (/a/<id>/overview/)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from orderreport.accounts.models import Membership, User
from orderreport.orders.services import change_status
from orderreport.projects.models import ApiKey, Event, Project
from orderreport.reports.figures import MAX_DAYS
from orderreport.reports.forms import quick_period
from tests.conftest import Shop, Team, is_postgres, make_shop
from tests.reports.helpers import add_order, add_record

UTC = ZoneInfo("UTC")
MOSCOW = ZoneInfo("Europe/Moscow")
# A week in March 2026 (Monday to Sunday) and the week before it.
WEEK = "?start=2026-03-09&end=2026-03-15"


def at(day: int, hour: int = 12, zone: ZoneInfo = UTC, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=zone)


def url(shop: Shop, query: str = "") -> str:
    return f"/projects/{shop.project.pk}/{query}"


def account_url(shop: Shop, query: str = "") -> str:
    return f"/a/{shop.account.pk}/overview/{query}"


def page(client: Client, user: User, address: str, status: int = 200) -> str:
    client.force_login(user)
    response = client.get(address)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def text(html: str) -> str:
    """The page's words with tags dropped and spaces (also no-break ones) collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace("\xa0", " "))


def chart(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="overview-data" type="application/json">(.*?)</script>', html)
    assert found, "no chart data on the page"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def product(name: str, price: int, count: int = 1) -> dict[str, Any]:
    return {"name": name, "price": price, "count": count}


def test_it_shows_the_periods_figures_against_the_previous_one(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(9), 150000, "RUB", [product("Apron", 50000, 3)])
    add_order(shop.project, at(15, 23), 50000, "RUB", [product("Mug", 25000, 2)])
    add_order(shop.project, at(5), 100000, "RUB", [product("Mug", 25000, 4)])  # the week before
    add_order(shop.project, at(16, 0), 999900, "RUB")  # the day after: in neither
    words = text(page(client, shop.user, url(shop, WEEK)))
    assert "Sales in RUB" in words
    assert "Revenue RUB 2,000.00 +100% before: RUB 1,000.00" in words
    assert "Orders 2 +100% before: 1" in words
    assert "Average order value RUB 1,000.00 0% before: RUB 1,000.00" in words
    assert "Items sold 5 +25% before: 4" in words
    assert "9,999.00" not in words
    assert "Mar 9 \u2013 15, 2026" in words
    assert "7 days in the UTC time zone, compared with the 7 days before them." in words


def test_it_keeps_currencies_apart_and_cancelled_orders_aside(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(10), 120000, "RUB")
    add_order(shop.project, at(11), 2500, "USD")
    cancelled = add_order(shop.project, at(12), 70000, "RUB")
    change_status(cancelled, "cancelled")
    refunded = add_order(shop.project, at(12), 1000, "USD")
    change_status(refunded, "refunded")
    html = page(client, shop.user, url(shop, WEEK))
    words = text(html)
    assert "Sales in RUB Revenue RUB 1,200.00" in words
    assert "Sales in USD Revenue $25.00" in words
    # Never a sum of roubles and dollars anywhere.
    assert "1,225.00" not in words and "1,200.25" not in words
    assert "Cancelled and refunded, not in the figures above: 1 order, RUB 700.00" in words
    assert "Cancelled and refunded, not in the figures above: 1 order, $10.00" in words
    assert "Cancelled RUB 1 RUB 700.00" in words  # orders by status
    assert "Refunded USD 1 $10.00" in words
    data = chart(html)
    assert [c["code"] for c in data["currencies"]] == ["RUB", "USD"]
    rub = data["currencies"][0]
    assert rub["revenue"] == [0, 1200.0, 0, 0, 0, 0, 0]  # by day, Monday first
    assert rub["orders"] == [0, 1, 0, 0, 0, 0, 0]
    assert rub["revenueText"][1] == "RUB\xa01,200.00"


def test_it_shows_the_same_numbers_in_the_table_as_in_the_chart(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(9, 8), 10000)
    add_order(shop.project, at(9, 20), 20000)
    add_order(shop.project, at(14), 5000)
    add_record(shop.event, at(14))
    html = page(client, shop.user, url(shop, WEEK))
    table = re.search(r'<table class="figures" id="series-table">(.*?)</table>', html, re.S)
    assert table
    rows = text(table.group(1))
    assert "Day Revenue, RUB Orders, RUB Leads" in rows
    assert "Mon, Mar 9 RUB 300.00 2 0" in rows
    assert "Sat, Mar 14 RUB 50.00 1 1" in rows
    assert "Total RUB 350.00 3 1" in rows
    assert chart(html)["leads"] == [0, 0, 0, 0, 0, 1, 0]


def test_it_counts_a_day_in_the_projects_time_zone_by_the_hour(client: Client, shop: Shop) -> None:
    Project.objects.filter(pk=shop.project.pk).update(timezone="Europe/Moscow")
    # 23:30 UTC on 9 March is 02:30 on 10 March in Moscow.
    add_order(shop.project, dt.datetime(2026, 3, 9, 23, 30, tzinfo=UTC), 40000)
    add_order(shop.project, at(10, 9), 60000)  # 12:00 in Moscow
    html = page(client, shop.user, url(shop, "?start=2026-03-10&end=2026-03-10"))
    words = text(html)
    assert "Revenue RUB 1,000.00" in words
    assert "1 day in the Europe/Moscow time zone, compared with the 1 day before it." in words
    assert "By hour" in words
    data = chart(html)
    assert len(data["labels"]) == 24
    assert data["labels"][2] == "2:00\u202fAM"
    assert data["currencies"][0]["orders"][2] == 1
    assert data["currencies"][0]["orders"][12] == 1
    assert "Hour Revenue, RUB" in words


def test_it_names_both_repeated_hours_of_a_dst_change(client: Client, shop: Shop) -> None:
    Project.objects.filter(pk=shop.project.pk).update(timezone="Europe/Berlin")
    # Europe's clocks go back on 25 October 2026: 03:00 CEST becomes 02:00 CET.
    add_order(shop.project, dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 1000)  # 02:30 CEST
    add_order(shop.project, dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), 2000)  # 02:30 CET
    html = page(client, shop.user, url(shop, "?start=2026-10-25&end=2026-10-25"))
    data = chart(html)
    assert len(data["labels"]) == 25
    assert "2:00\u202fAM (CEST)" in data["labels"]
    assert "2:00\u202fAM (CET)" in data["labels"]
    assert data["currencies"][0]["orders"][2:4] == [1, 1]


def test_it_shows_top_products_statuses_and_leads_per_event(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(10), 90000, "RUB", [product("Pan", 90000)])
    add_order(shop.project, at(11), 30000, "RUB", [product("Mug", 10000, 3)])
    paid = add_order(shop.project, at(11), 10000, "RUB", [product("Mug", 10000)])
    change_status(paid, "paid")
    second = Event.objects.create(project=shop.project, name="Newsletter")
    add_record(shop.event, at(10))
    add_record(shop.event, at(12))
    add_record(second, at(12))
    add_record(second, at(3))  # the week before
    words = text(page(client, shop.user, url(shop, WEEK)))
    assert (
        "Top products by revenue, RUB Product Revenue Quantity Pan RUB 900.00 1 Mug RUB 400.00 4"
        in words
    )
    assert "Top products by quantity, RUB Product Revenue Quantity Mug RUB 400.00 4 Pan" in words
    assert "New RUB 2 RUB 1,200.00 Paid RUB 1 RUB 100.00" in words
    assert "Leads 3 +200% before: 1" in words
    assert "Leads per order 1" in words
    assert "Day Call-back Newsletter" in words
    assert "Tue, Mar 10 1 0" in words
    assert "Thu, Mar 12 1 1" in words
    assert "Total 2 1 Previous period 0 1" in words


def test_it_shows_zeros_for_an_empty_period(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(1, month=1), 10000)
    html = page(client, shop.user, url(shop, WEEK))
    words = text(html)
    assert "No orders in this period." in words
    assert "Leads 0 — before: 0" in words
    assert "Total 0" in words  # the table under the chart still has its days
    assert "No products sold in this period." in words
    assert chart(html)["currencies"] == []
    assert chart(html)["leads"] == [0] * 7
    # An order exists: not the first-steps message.
    assert "Connect your site" not in words


def test_it_tells_a_new_project_the_next_step(client: Client, shop: Shop) -> None:
    words = text(page(client, shop.user, url(shop)))
    assert "No orders yet. They appear here as soon as your site sends its first order." in words
    assert "Connect your site" in words
    assert words.count("No orders in this period.") == 1  # only under "Orders by status"
    assert "See these orders" not in words


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("today", dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
        ("yesterday", dt.date(2026, 2, 28), dt.date(2026, 2, 28)),
        ("7d", dt.date(2026, 2, 23), dt.date(2026, 3, 1)),
        ("30d", dt.date(2026, 1, 31), dt.date(2026, 3, 1)),
        ("90d", dt.date(2025, 12, 2), dt.date(2026, 3, 1)),
        ("month", dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
        ("last_month", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ],
)
def test_it_computes_the_quick_periods(name: str, first: dt.date, last: dt.date) -> None:
    period = quick_period(name, dt.date(2026, 3, 1), MOSCOW)
    assert (period.first, period.last, period.zone) == (first, last, MOSCOW)


def test_it_takes_last_month_across_new_year() -> None:
    period = quick_period("last_month", dt.date(2026, 1, 15), UTC)
    assert (period.first, period.last) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_it_picks_today_in_the_projects_time_zone(client: Client, shop: Shop) -> None:
    Project.objects.filter(pk=shop.project.pk).update(timezone="Pacific/Kiritimati")  # UTC+14
    html = page(client, shop.user, url(shop, "?period=today"))
    today = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert f'name="start" id="id_start" value="{today.isoformat()}"' in html
    assert 'aria-current="true" class="badge on">Today<' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?start=2026-03-15&end=2026-03-09", "The end date is before the start date."),
        ("?start=yesterday&end=2026-03-09", "Enter a valid date."),
        ("?start=2026-03-09", "Enter the last day of the period."),
        ("?end=2026-03-09", "Enter the first day of the period."),
        ("?start=2020-01-01&end=2026-01-01", f"A period can be at most {MAX_DAYS} days long."),
        ("?start=0001-01-01&end=0001-01-02", "Enter a date between 1970-01-01 and 9000-12-31."),
        ("?start=99999-01-01&end=99999-01-02", "Enter a valid date."),
        ("?period=forever", "Select a valid choice. forever is not one of the available choices."),
    ],
)
def test_it_explains_a_period_it_cannot_read(
    client: Client, shop: Shop, query: str, message: str
) -> None:
    add_order(shop.project, at(10), 123400)
    html = page(client, shop.user, url(shop, query), status=400)
    words = text(html)
    assert message in words
    assert "Correct the period above to see the figures." in words
    assert "1,234.00" not in words


def test_it_accepts_the_longest_period(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(10), 123400)
    last = dt.date(2026, 3, 15)
    first = last - dt.timedelta(days=MAX_DAYS - 1)
    words = text(page(client, shop.user, url(shop, f"?start={first}&end={last}")))
    assert "Revenue RUB 1,234.00" in words


def test_it_shows_a_viewer_the_overview(client: Client, team: Team) -> None:
    add_order(team.shop.project, at(10), 123400)
    assert "Revenue RUB 1,234.00" in text(page(client, team.viewer, url(team.shop, WEEK)))
    words = text(page(client, team.viewer, account_url(team.shop, WEEK)))
    assert "Revenue RUB 1,234.00" in words


def test_it_hides_another_tenants_project_and_account(client: Client, team: Team) -> None:
    add_order(team.shop.project, at(10), 123400)
    page(client, team.outsider, url(team.shop, WEEK), status=404)
    page(client, team.outsider, account_url(team.shop, WEEK), status=404)


def test_it_sends_strangers_to_log_in(client: Client, shop: Shop) -> None:
    for address in (url(shop), account_url(shop)):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_adds_up_the_accounts_projects_and_nobody_elses(
    client: Client, shop: Shop, other_shop: Shop
) -> None:
    second = Project.objects.create(account=shop.account, name="Landing", timezone="UTC")
    ApiKey.objects.create(project=second, name="Site")
    landing_form = Event.objects.create(project=second, name="Quote request")
    add_order(shop.project, at(10), 100000)
    add_order(second, at(11), 50000)
    add_order(other_shop.project, at(11), 777700)
    add_record(landing_form, at(11))
    add_record(other_shop.event, at(11))
    words = text(page(client, shop.user, account_url(shop, WEEK)))
    assert "all projects" in words
    assert "Revenue RUB 1,500.00" in words
    assert "Orders 2" in words
    assert "7,777.00" not in words and "8,777.00" not in words
    assert "Day Quote request · Landing" in words
    assert "Leads 1" in words


def test_it_reports_the_account_in_the_zone_most_projects_use(client: Client, shop: Shop) -> None:
    Project.objects.filter(pk=shop.project.pk).update(timezone="Asia/Tokyo")
    Project.objects.create(account=shop.account, name="Second", timezone="Asia/Tokyo")
    Project.objects.create(account=shop.account, name="Third", timezone="Europe/Moscow")
    # 20:00 UTC on 9 March: 10 March in Tokyo, 9 March in Moscow and UTC.
    add_order(shop.project, dt.datetime(2026, 3, 9, 20, tzinfo=UTC), 10000)
    html = page(client, shop.user, account_url(shop, "?start=2026-03-10&end=2026-03-10"))
    assert "in the Asia/Tokyo time zone" in text(html)
    assert '<option value="Asia/Tokyo" selected>' in html
    assert '<option value="Europe/Moscow">' in html and '<option value="UTC">' in html
    assert "Revenue RUB 100.00" in text(html)
    moscow = "?start=2026-03-10&end=2026-03-10&tz=Europe/Moscow"
    assert "No orders in this period." in text(page(client, shop.user, account_url(shop, moscow)))
    bad = page(client, shop.user, account_url(shop, WEEK + "&tz=Mars/Olympus"), status=400)
    assert "Select a valid choice." in text(bad)


def test_it_speaks_russian(client: Client, shop: Shop) -> None:
    shop.user.language = "ru"
    shop.user.save()
    add_order(shop.project, at(10), 123456, "RUB", [product("Чайник", 123456)])
    add_order(shop.project, at(3), 100000)
    cancelled = add_order(shop.project, at(11), 5000)
    change_status(cancelled, "cancelled")
    html = page(client, shop.user, url(shop, WEEK))
    words = text(html)
    assert '<html lang="ru">' in html
    assert "Продажи в RUB" in words
    assert "Выручка 1 234,56 ₽ +23 % было: 1 000,00 ₽" in words
    assert "Средний чек" in words
    assert "1 заказ на 50,00 ₽" in words
    assert "9—15 мар. 2026 г." in words  # noqa: RUF001
    assert "пн, 9 мар." in words
    assert "Лучшие товары по выручке, RUB" in words
    assert "7 дней в часовом поясе UTC" in words
    assert 'aria-current="page">Обзор</a>' in html
    bad = text(page(client, shop.user, url(shop, "?start=2026-03-15&end=2026-03-09"), 400))
    assert "Исправьте период выше, чтобы увидеть показатели." in bad


def test_it_is_the_projects_first_tab(client: Client, shop: Shop) -> None:
    html = page(client, shop.user, url(shop))
    overview = f'<a href="/projects/{shop.project.pk}/" aria-current="page">Overview</a>'
    assert overview in html
    assert html.index(overview) < html.index(f'href="/projects/{shop.project.pk}/orders/"')
    orders = page(client, shop.user, f"/projects/{shop.project.pk}/orders/")
    assert f'<a href="/projects/{shop.project.pk}/orders/" aria-current="page">' in orders
    assert f'<a href="/projects/{shop.project.pk}/" aria-current="page">' not in orders


def test_it_links_the_period_to_the_order_list(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(1, month=1), 10000)
    html = page(client, shop.user, url(shop, WEEK))
    assert f'href="/projects/{shop.project.pk}/orders/?start=2026-03-09&amp;end=2026-03-15"' in html


def test_it_loads_only_our_own_scripts(client: Client, shop: Shop) -> None:
    html = page(client, shop.user, url(shop))
    scripts = re.findall(r"<script[^>]*>", html)
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer>' in scripts
    assert '<script src="/static/js/overview.js" defer>' in scripts
    # The one script element with content is data (json_script), never code.
    assert '<script id="overview-data" type="application/json">' in scripts
    assert all("src=" in s or 'type="application/json"' in s for s in scripts)


def test_it_lists_the_account_overview_on_the_projects_page(client: Client, shop: Shop) -> None:
    html = page(client, shop.user, "/projects/")
    assert f'href="/a/{shop.account.pk}/overview/"' in html
    assert f'<a href="/projects/{shop.project.pk}/">Shop</a>' in html


def test_it_shows_an_account_without_projects_what_to_do(client: Client, db: None) -> None:
    shop = make_shop()
    Project.objects.filter(pk=shop.project.pk).delete()
    words = text(page(client, shop.user, account_url(shop)))
    assert "This account has no projects yet." in words


def test_it_sends_overview_to_the_current_accounts_overview(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    response = client.get("/overview/?period=30d")
    assert response.status_code == 302
    assert response["Location"] == f"/a/{team.shop.account.pk}/overview/?period=30d"
    outsider_account = Membership.objects.get(user=team.outsider).account_id
    client.force_login(team.outsider)
    assert client.get("/overview/")["Location"] == f"/a/{outsider_account}/overview/"


def test_it_ranks_products_within_each_currency(client: Client, shop: Shop) -> None:
    add_order(shop.project, at(10), 90000, "RUB", [product("Pan", 90000)])
    add_order(shop.project, at(10), 100000, "RUB", [product("Kettle", 100000)])
    add_order(shop.project, at(11), 3000, "USD", [product("Pan", 1000, 3)])
    words = text(page(client, shop.user, url(shop, WEEK)))
    assert (
        "Top products by revenue, RUB Product Revenue Quantity Kettle RUB 1,000.00 1 "
        "Pan RUB 900.00 1 Top products by quantity, RUB"
    ) in words
    assert "Top products by revenue, USD Product Revenue Quantity Pan $30.00 3 Top" in words


def test_it_shows_a_product_line_beyond_the_decimal_defaults(client: Client, shop: Shop) -> None:
    # The API takes price and count up to int64 each: their product has 38 digits.
    biggest = 2**63 - 1
    add_order(shop.project, at(10), biggest, "USD", [product("Yacht", biggest, biggest)])
    words = text(page(client, shop.user, url(shop, WEEK)))
    assert "Top products by revenue, USD Product Revenue Quantity Yacht $850,705,917,302" in words
    if is_postgres():  # numeric sums are exact; Django reads SQLite's to 15 digits
        assert "Yacht $850,705,917,302,346,158,473,969,077,842,325,012.49" in words
        assert "Revenue $92,233,720,368,547,758.07" in words
