from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from orderreport.accounts.models import Account, Usage
from orderreport.accounts.services import get_plan
from orderreport.times import format_day
from tests.conftest import Shop, Team

pytestmark = pytest.mark.django_db


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def use(account: Account, orders: int) -> None:
    start, _end = account.current_period()
    Usage.objects.update_or_create(account=account, period_start=start, defaults={"used": orders})


def test_it_shows_orders_used_of_the_limit_and_the_reset_day(shop: Shop) -> None:
    Account.objects.filter(pk=shop.account.pk).update(billing_anchor=dt.date(2026, 1, 31))
    shop.account.refresh_from_db()
    use(shop.account, 37)
    page = as_user(shop.user).get(f"/a/{shop.account.pk}/plan/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "37 of 100 orders used this period (37%)." in body
    assert '<progress class="usage " max="100" value="37"' in body
    _start, end = shop.account.current_period()
    assert f"the counter resets on {format_day(end, 'en')}." in body
    # The plans side by side, the current one marked.
    for title in ("Free", "Start", "Pro", "Business", "Unlimited"):
        assert f"<h3>{title}</h3>" in body
    assert "Your plan" in body
    assert "contact the operator" in body


def test_it_counts_only_the_current_period(shop: Shop) -> None:
    start, _end = shop.account.current_period()
    Usage.objects.create(account=shop.account, period_start=start - dt.timedelta(days=40), used=99)
    body = as_user(shop.user).get(f"/a/{shop.account.pk}/plan/").content.decode()
    assert "0 of 100 orders used this period (0%)." in body


def test_it_shows_an_unlimited_plan_without_a_bar(shop: Shop) -> None:
    Account.objects.filter(pk=shop.account.pk).update(plan=get_plan("unlimited"))
    use(shop.account, 5000)
    body = as_user(shop.user).get(f"/a/{shop.account.pk}/plan/").content.decode()
    assert "5,000 orders this period, no limit." in body
    assert "<progress" not in body


def test_it_hides_the_plan_from_outsiders(team: Team) -> None:
    assert as_user(team.outsider).get(f"/a/{team.shop.account.pk}/plan/").status_code == 404


def test_it_shows_members_the_plan_but_only_the_owner_is_told_how_to_change_it(
    team: Team,
) -> None:
    body = as_user(team.admin).get(f"/a/{team.shop.account.pk}/plan/").content.decode()
    assert "Only the account owner can ask for a different plan." in body
    assert "contact the operator" not in body


def test_it_has_no_self_service_plan_change(team: Team) -> None:
    response = as_user(team.owner).post(f"/a/{team.shop.account.pk}/plan/", {"plan": "pro"})
    assert response.status_code == 405
    team.shop.account.refresh_from_db()
    assert team.shop.account.plan.name == "free"


def test_it_shows_no_banner_below_80_percent(team: Team) -> None:
    use(team.shop.account, 79)
    body = as_user(team.viewer).get(f"/a/{team.shop.account.pk}/members/").content.decode()
    assert 'role="alert"' not in body


def test_it_warns_across_the_app_at_80_percent(team: Team) -> None:
    use(team.shop.account, 80)
    body = as_user(team.viewer).get(f"/a/{team.shop.account.pk}/members/").content.decode()
    assert '<div class="banner" role="alert">' in body
    assert "has used 80 of its 100 orders this period." in body


def test_it_says_new_orders_are_refused_at_100_percent(team: Team) -> None:
    use(team.shop.account, 100)
    client = as_user(team.admin)
    for path in (f"/a/{team.shop.account.pk}/members/", "/accounts/2fa/"):
        body = client.get(path).content.decode()
        assert '<div class="banner full" role="alert">' in body, path
        assert "has used all 100 orders of its plan: new orders are refused until" in body


def test_it_does_not_show_another_accounts_banner(team: Team) -> None:
    use(team.shop.account, 100)
    body = as_user(team.outsider).get("/accounts/2fa/").content.decode()
    assert 'role="alert"' not in body
