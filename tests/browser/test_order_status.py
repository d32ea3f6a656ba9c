"""An owner changes an order's status on the order page in Chromium and sees the new label
and the step in the history."""

from __future__ import annotations

from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.orders.models import Order, StatusChange
from tests.browser.session import log_in
from tests.conftest import make_shop


def test_an_owner_changes_the_status_and_sees_the_history(
    page: Page, live_server: LiveServer
) -> None:
    shop = make_shop()
    shop.user.first_name = "Olga"
    shop.user.save()
    order = Order.objects.create(
        project=shop.project,
        external_id="10482",
        total=189000,
        currency="RUB",
        received_at=timezone.now(),
    )
    log_in(page, live_server, shop.user)

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/orders/{order.pk}/")
    heading = page.get_by_role("heading", name="Order 10482")
    expect(heading.locator(".status")).to_have_text("New")
    expect(page.locator("ol.history")).to_have_count(0)

    page.get_by_label("Change the status").select_option("shipped")
    page.get_by_role("button", name="Save status").click()

    expect(page.get_by_role("status")).to_contain_text("Status changed to “Shipped”.")
    expect(heading.locator(".status")).to_have_text("Shipped")
    expect(heading.locator(".status")).to_have_class("status status-shipped")
    step = page.locator("ol.history li")
    expect(step).to_have_count(1)
    expect(step).to_contain_text("New")
    expect(step).to_contain_text("Shipped")
    expect(step).to_contain_text("by Olga")
    assert StatusChange.objects.get(order=order).changed_by == shop.user

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/orders/?status=shipped")
    expect(page.locator("#order-rows .status")).to_have_text(["Shipped"])
