"""The plan page and the banner with held orders (issue 13 items 1-2): how many, which, and
the operator's way to a larger plan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, override_settings

from orderreport.accounts.models import HeldOrder, Usage
from orderreport.ingest.record import record_in_transaction
from orderreport.orders.models import Order
from tests.conftest import Shop, Team
from tests.ingest.helpers import limit_to, order_item

pytestmark = pytest.mark.django_db

# 2026-12-01 21:30 UTC is 2026-12-02 00:30 in Moscow: the day shows which zone was used.
ARRIVED = dt.datetime(2026, 12, 1, 21, 30, tzinfo=dt.UTC)


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def hold(shop: Shop, *ids: str, total: int = 99000) -> None:
    """Fill the shop's account (limit 1) and send `ids` over the limit: they are held."""
    limit_to(shop, 1)
    record_in_transaction([order_item(shop, "paid-for")])
    record_in_transaction([order_item(shop, i, total=total, received_at=ARRIVED) for i in ids])
    assert HeldOrder.objects.count() == len(ids)


def plan_page(client: Client, shop: Shop) -> str:
    response = client.get(f"/a/{shop.account.pk}/plan/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_it_lists_held_orders_with_ids_totals_and_times_in_the_projects_zone(shop: Shop) -> None:
    shop.project.timezone = "Europe/Moscow"
    shop.project.save()
    hold(shop, "A-17", "A-18")
    body = plan_page(as_user(shop.user), shop)
    assert "2 orders arrived over the limit and are held" in body
    assert "new orders are answered 402 and held (see below)" in body
    assert "<code>A-17</code>" in body and "<code>A-18</code>" in body
    assert "990.00" in body  # 99000 minor units of RUB
    assert "Europe/Moscow" in body
    assert '<time datetime="2026-12-02T00:30:00+03:00">' in body


def test_it_says_when_nothing_is_held(shop: Shop) -> None:
    body = plan_page(as_user(shop.user), shop)
    assert "No orders are held." in body
    assert "<table" not in body


def test_the_banner_counts_held_orders_and_names_the_first(team: Team) -> None:
    hold(team.shop, "h1", "h2", "h3", "h4")
    body = as_user(team.viewer).get(f"/a/{team.shop.account.pk}/members/").content.decode()
    assert '<div class="banner full" role="alert">' in body
    assert "4 orders are held:" in body
    assert "<code>h1</code>" in body and "<code>h3</code>" in body
    assert "<code>h4</code>" not in body  # the plan page lists them all
    assert f'href="/a/{team.shop.account.pk}/plan/#held"' in body


def test_the_banner_stays_while_orders_are_held_in_a_period_with_room(shop: Shop) -> None:
    hold(shop, "h1")
    Usage.objects.update(used=0)  # a new period, say: room, but h1 waits for a larger plan
    body = as_user(shop.user).get(f"/a/{shop.account.pk}/members/").content.decode()
    assert "1 order is held:" in body


@override_settings(UPGRADE_URL="https://billing.example.com/upgrade", UPGRADE_EMAIL="")
def test_it_links_the_operators_upgrade_page(shop: Shop) -> None:
    body = plan_page(as_user(shop.user), shop)
    assert (
        '<a class="button" href="https://billing.example.com/upgrade">Change your plan</a>' in body
    )
    # Each larger plan links there too; the current one (Free) does not.
    assert body.count('href="https://billing.example.com/upgrade">Ask for this plan</a>') == 4


@override_settings(UPGRADE_URL="", UPGRADE_EMAIL="sales@example.com")
def test_it_offers_an_upgrade_by_email_naming_account_and_plan(shop: Shop) -> None:
    body = plan_page(as_user(shop.user), shop)
    assert 'To change your plan, write to <a href="mailto:sales@example.com">' in body
    assert 'href="mailto:sales@example.com?subject=Plan%20change%3A%20' in body
    assert "%20to%20Pro" in body


@override_settings(
    UPGRADE_URL="", UPGRADE_EMAIL="", DEFAULT_FROM_EMAIL="Shop Ops <ops@example.com>"
)
def test_without_upgrade_settings_it_names_the_operators_address(shop: Shop) -> None:
    body = plan_page(as_user(shop.user), shop)
    assert (
        'contact the operator of this service at <a href="mailto:ops@example.com">'
        "ops@example.com</a>." in body
    )


@override_settings(UPGRADE_URL="", UPGRADE_EMAIL="", DEFAULT_FROM_EMAIL="noreply@example.com")
def test_it_never_sends_owners_to_a_noreply_address(shop: Shop) -> None:
    body = plan_page(as_user(shop.user), shop)
    assert "To change your plan, contact the operator of this service." in body
    assert "noreply@example.com" not in body


@override_settings(UPGRADE_URL="https://billing.example.com/upgrade")
def test_members_see_held_orders_but_no_upgrade_link(team: Team) -> None:
    hold(team.shop, "h1")
    body = plan_page(as_user(team.admin), team.shop)
    assert "<code>h1</code>" in body
    assert "billing.example.com" not in body
    assert "Only the account owner can ask for a different plan." in body


def test_it_speaks_russian(shop: Shop) -> None:
    shop.user.language = "ru"
    shop.user.save()
    hold(shop, "h1", "h2")
    client = as_user(shop.user)
    client.cookies["django_language"] = "ru"
    body = plan_page(client, shop)
    assert "Удержанные заказы" in body
    assert "2 заказа пришли сверх лимита и удержаны" in body


def test_an_operator_changing_the_plan_in_the_admin_releases_held_orders(
    client: Client, shop: Shop
) -> None:
    from orderreport.accounts.models import User
    from orderreport.accounts.services import get_plan

    hold(shop, "h1", "h2")
    client.force_login(User.objects.create_superuser("operator@example.com", "operator-pw-1"))
    account = shop.account
    response = client.post(
        f"/admin/accounts/account/{account.pk}/change/",
        {
            "name": account.name,
            "owner": account.owner_id,
            "plan": get_plan("unlimited").pk,
            "billing_anchor": account.billing_anchor.isoformat(),
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["h1", "h2", "paid-for"]
    assert not HeldOrder.objects.exists()
