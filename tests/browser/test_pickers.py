"""The pickers in Chromium: the new-project form starts at the browser's own time zone (also one
the browser names by an older alias), labelled with the city in the reader's language; the
order list's currency filter is a select that filters. At 1280 and 375 px, in English and
Russian, without the page growing sideways."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account
from orderreport.orders.models import Order
from orderreport.projects.models import Project
from tests.browser.session import log_in, no_sideways_scroll


@pytest.mark.parametrize(
    ("browser_zone", "language", "zone", "label", "group"),
    [
        ("Asia/Yekaterinburg", "en", "Asia/Yekaterinburg", "Yekaterinburg (UTC+05:00)", "Asia"),
        ("Asia/Yekaterinburg", "ru", "Asia/Yekaterinburg", "Екатеринбург (UTC+05:00)", "Азия"),
        # Chromium reports these by their old names (Asia/Calcutta, Europe/Kiev).
        ("Asia/Kolkata", "ru", "Asia/Kolkata", "Калькутта (UTC+05:30)", "Азия"),
        ("Europe/Kyiv", "en", "Europe/Kyiv", "Kyiv (UTC+0", "Europe"),
    ],
)
def test_it_starts_a_new_project_at_the_browsers_time_zone(
    browser: Browser,
    live_server: LiveServer,
    browser_zone: str,
    language: str,
    zone: str,
    label: str,
    group: str,
) -> None:
    user = User.objects.create_user("new@example.com", "pw-new-12345", language=language)
    create_account(user, "New")
    for width in (1280, 375):
        context = browser.new_context(
            locale="en-US", timezone_id=browser_zone, viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        log_in(page, live_server, user)
        page.goto(live_server.url + "/projects/")
        picker = page.locator("select[name=timezone]")
        expect(picker).to_have_value(zone)
        chosen = picker.locator("option:checked")
        expect(chosen).to_contain_text(label)
        expect(picker.locator(f"optgroup[label='{group}'] option[value='{zone}']")).to_have_count(1)
        no_sideways_scroll(page)
        context.close()

    # Created with the browser's zone, nothing touched.
    page = browser.new_context(locale="en-US", timezone_id=browser_zone).new_page()
    log_in(page, live_server, user)
    page.goto(live_server.url + "/projects/")
    expect(page.locator("select[name=timezone]")).to_have_value(zone)
    page.locator("input[name=name]").fill("Ural shop")
    page.locator("form[action='/projects/'] button[type=submit]").click()
    expect(page.locator("h1, h2").filter(has_text="Ural shop").first).to_be_visible()
    assert Project.objects.get(name="Ural shop").timezone == zone
    page.context.close()


def test_it_leaves_a_zone_the_user_chose(browser: Browser, live_server: LiveServer) -> None:
    user = User.objects.create_user("new@example.com", "pw-new-12345")
    create_account(user, "New")
    page = browser.new_context(locale="en-US", timezone_id="Asia/Yekaterinburg").new_page()
    log_in(page, live_server, user)
    page.goto(live_server.url + "/projects/")
    page.locator("select[name=timezone]").select_option("Asia/Tokyo")
    page.locator("form[action='/projects/'] button[type=submit]").click()  # no name: refused
    expect(page.locator(".errorlist").first).to_be_visible()
    expect(page.locator("select[name=timezone]")).to_have_value("Asia/Tokyo")
    page.context.close()


def test_it_filters_orders_by_a_currency_chosen_from_the_list(
    browser: Browser, live_server: LiveServer, settings: Any
) -> None:
    user = User.objects.create_user("owner@example.com", "pw-owner-12345", language="ru")
    project = Project.objects.create(
        account=create_account(user, "Shop"), name="Shop", timezone="UTC", currency="RUB"
    )
    for external_id, currency in (("R-1", "RUB"), ("U-1", "USD")):
        Order.objects.create(
            project=project,
            external_id=external_id,
            total=100,
            currency=currency,
            received_at=timezone.now(),
        )
    page = browser.new_context(locale="en-US", viewport={"width": 375, "height": 812}).new_page()
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}/projects/{project.pk}/orders/")
    currency = page.locator("select[name=currency]")
    expect(currency.locator("option")).to_have_text(
        ["Любая валюта", "RUB · российский рубль", "USD · доллар США"]
    )
    currency.select_option("USD")
    page.locator("form.filters button[type=submit]").click()
    expect(page.locator("tbody tr:not(.poller)")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("U-1")
    expect(currency).to_have_value("USD")
    no_sideways_scroll(page)
    page.context.close()
