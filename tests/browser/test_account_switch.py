"""A member of two accounts switches between them from the header, on a desktop and on a
phone (inside the compact header's menu), in English and in Russian."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.accounts.models import Account, Membership, User
from orderreport.accounts.services import create_account
from orderreport.projects.models import Project

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# (the Members link, the two roles as the menu shows them)
WORDS = {
    "en": ("Members", "Owner", "Admin"),
    "ru": ("Участники", "Владелец", "Администратор"),
}


def two_accounts() -> tuple[User, Account, Account]:
    """Anna owns Corner Shop Ltd and is an admin of Lavka on Arbat, which Boris owns."""
    anna = User.objects.create_user("anna@example.com", "pw-anna-12345")
    boris = User.objects.create_user("boris@example.com", "pw-boris-12345")
    corner = create_account(anna, "Corner Shop Ltd")
    lavka = create_account(boris, "Lavka on Arbat")
    Membership.objects.create(account=lavka, user=anna, role=Membership.Role.ADMIN)
    Project.objects.create(account=corner, name="Corner Shop")
    Project.objects.create(account=lavka, name="Arbat street")
    return anna, corner, lavka


def open_as(
    browser: Browser, live_server: LiveServer, user: User, viewport: Any, **kw: Any
) -> Page:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(viewport=viewport, **kw)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context.new_page()


def account_menu(page: Page) -> Any:
    # The header is in the page twice (the phone menu's copy is hidden on a desktop).
    return page.locator("details.menu.accounts:visible")


def switch_to(page: Page, name: str) -> None:
    menu = account_menu(page)
    menu.locator("summary").click()
    menu.get_by_role("button", name=name).click()


@pytest.mark.parametrize(("viewport", "language"), [(DESKTOP, "en"), (PHONE, "en"), (PHONE, "ru")])
def test_it_switches_accounts_from_the_header(
    browser: Browser, live_server: LiveServer, viewport: dict[str, int], language: str
) -> None:
    anna, corner, lavka = two_accounts()
    anna.language = language
    anna.save()
    phone = viewport is PHONE
    members_word, owner_word, admin_word = WORDS[language]
    options = {"is_mobile": True, "has_touch": True} if phone else {}
    page = open_as(browser, live_server, anna, viewport, **options)
    try:
        page.goto(f"{live_server.url}/projects/")

        def open_phone_menu() -> None:
            if phone:
                page.locator(".phone-nav > summary").click()

        # Her own account is current first; the form says it is the one a project goes to.
        open_phone_menu()
        expect(account_menu(page).locator("summary")).to_contain_text("Corner Shop Ltd")
        expect(page.locator("select[name=account]")).to_have_value(str(corner.pk))
        account_menu(page).locator("summary").click()
        expect(account_menu(page).get_by_text(admin_word)).to_be_visible()
        expect(account_menu(page).get_by_text(owner_word)).to_be_visible()
        account_menu(page).get_by_role("button", name="Lavka on Arbat").click()

        # The same page, now about the other account: header, form and project order.
        expect(page).to_have_url(f"{live_server.url}/projects/")
        open_phone_menu()
        expect(account_menu(page).locator("summary")).to_contain_text("Lavka on Arbat")
        expect(page.locator("select[name=account]")).to_have_value(str(lavka.pk))
        expect(page.locator("main h2").first).to_have_text("Lavka on Arbat")
        # Nothing is wider than the screen, the open menu included.
        account_menu(page).locator("summary").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.keyboard.press("Escape")

        # Its pages follow: Members is Lavka's; switching back there lands on Corner's.
        page.locator("nav.topnav:visible").get_by_role("link", name=members_word).click()
        expect(page).to_have_url(f"{live_server.url}/a/{lavka.pk}/members/")
        open_phone_menu()
        switch_to(page, "Corner Shop Ltd")
        expect(page).to_have_url(f"{live_server.url}/a/{corner.pk}/members/")
        open_phone_menu()
        expect(account_menu(page).locator("summary")).to_contain_text("Corner Shop Ltd")
    finally:
        page.context.close()
