"""A newcomer's whole journey in Chromium, in English and in Russian.

Sign up, confirm the address from the mail, log in, create a project, add the shop's domain as
people paste it, create an API key and an event, copy the JS helper from the integration page
into a shop page on another origin, place an order and send an event there, and watch both
arrive in the dashboard. Buttons and links are found by their visible text in the language
chosen through the page's own switch, so a missing translation fails the Russian run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.events.models import EventRecord
from orderreport.money import format_money
from orderreport.orders.models import Order
from tests.browser.conftest import ShopSite

PASSWORD = "a long and unusual passphrase 42"


@dataclass(frozen=True)
class Words:
    """What the newcomer reads and clicks, in one language."""

    language_button: str | None  # the switch in the top bar; None: the default language
    sign_up_heading: str
    sign_up: str
    verify_heading: str
    confirm_heading: str
    confirm: str
    log_out: str
    log_in_link: str
    log_in: str
    projects: str
    no_projects: str
    create_project: str
    project_name: str
    domains: str
    add_domain: str
    api_keys: str
    create_key: str
    key_name: str
    event_keys: str
    create_event: str
    event_name: str
    integration: str
    helper_tab: str
    helper_heading: str
    orders: str
    no_orders: str
    events: str
    event_records: str
    products: str


WORDS = {
    "en": Words(
        language_button=None,
        sign_up_heading="Sign Up",
        sign_up="Sign Up",
        verify_heading="Verify Your Email Address",
        confirm_heading="Confirm Email Address",
        confirm="Confirm",
        log_out="Log out",
        log_in_link="Log in",
        log_in="Sign In",
        projects="Projects",
        no_projects="You have no projects yet.",
        create_project="Create project",
        project_name="Corner Shop",
        domains="Domains",
        add_domain="Add domain",
        api_keys="API keys",
        create_key="Create key",
        key_name="Shop front end",
        event_keys="Event keys",
        create_event="Create event",
        event_name="Call-back request",
        integration="Integration",
        helper_tab="JS helper",
        helper_heading="Universal JS helper for your site",
        orders="Orders",
        no_orders="No orders yet.",
        events="Events",
        event_records="Event records",
        products="Products",
    ),
    "ru": Words(
        language_button="Русский",
        sign_up_heading="Зарегистрируйтесь",
        sign_up="Зарегистрируйтесь",
        verify_heading="Подтвердите Ваш адрес электронной почты",
        confirm_heading="Подтвердите адрес электронной почты",
        confirm="Подтвердить",
        log_out="Выйти",
        log_in_link="Войти",
        log_in="Войти",
        projects="Проекты",
        no_projects="пока нет проектов",
        create_project="Создать проект",
        project_name="Лавка на углу",
        domains="Домены",
        add_domain="Добавить домен",
        api_keys="API-ключи",
        create_key="Создать ключ",
        key_name="Витрина магазина",
        event_keys="Ключи событий",
        create_event="Создать событие",
        event_name="Заказ обратного звонка",
        integration="Интеграция",
        helper_tab="JS-помощник",
        helper_heading="Универсальный JS-помощник для сайта",
        orders="Заказы",
        no_orders="Заказов пока нет.",
        events="События",
        event_records="Записи событий",
        products="Товары",
    ),
}

# The shop's page: the helper exactly as copied from the integration page, and a button that
# runs the helper's own commented example (uncommented), as a developer would try it first.
SHOP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Corner Shop</title>
<link rel="icon" href="data:,">
<script>
{helper}
</script>
</head><body>
<h1>Checkout</h1>
<button id="buy" type="button">Place the order</button>
<p id="status" role="status"></p>
<script>
document.getElementById('buy').addEventListener('click', async () => {{
  const status = document.getElementById('status');
  try {{
{example}
    status.textContent = 'Thank you!';
  }} catch (error) {{
    status.textContent = error.message;
  }}
}});
</script>
</body></html>
"""


# A second order once the account is full: the helper's sendOrder, with an id of its own.
OVER_LIMIT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Corner Shop</title>
<link rel="icon" href="data:,">
<script>
{helper}
</script>
</head><body>
<button id="buy" type="button">Place the order</button>
<p id="status" role="status"></p>
<script>
document.getElementById('buy').addEventListener('click', async () => {{
  const status = document.getElementById('status');
  try {{
    await sendOrder({{id: 'W-1001', total: 259000}});
    status.textContent = 'Thank you!';
  }} catch (error) {{
    status.textContent = error.message;
  }}
}});
</script>
</body></html>
"""
# The banner's held count, its link to the plan, the plan page's held heading.
HELD_WORDS = {
    "en": ("1 order is held:", "See the plan", "Held orders"),
    "ru": ("1 заказ удержан:", "Посмотреть тариф", "Удержанные заказы"),
}


def uncommented_example(helper: str) -> str:
    """The helper's `// Example:` block as code: `await sendOrder(...); await sendEvent(...);`."""
    _head, sep, example = helper.partition("// Example:\n")
    assert sep, helper
    lines = [line.removeprefix("//").removeprefix(" ") for line in example.splitlines()]
    code = "\n".join(lines)
    assert "await sendOrder(" in code and "await sendEvent(" in code, code
    return code


def confirmation_path(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def section(page: Page, name: str) -> None:
    """Follow a tab of the project's section bar."""
    page.locator("nav.subnav").get_by_role("link", name=name, exact=True).click()


@pytest.fixture
def journey_settings(settings: Any, live_server: LiveServer) -> Any:
    # The integration page fills its examples with BASE_URL: here, the live server.
    settings.BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.mark.parametrize("language", ["en", "ru"])
def test_it_walks_a_newcomer_from_sign_up_to_the_first_order_and_event(
    language: str,
    page: Page,
    context: BrowserContext,
    live_server: LiveServer,
    shop_site: ShopSite,
    journey_settings: Any,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    w = WORDS[language]
    email = f"newcomer-{language}@example.com"
    html = page.locator("html")

    # --- Sign up, in the language chosen on the page itself.
    page.goto(live_server.url + "/accounts/signup/")
    expect(html).to_have_attribute("lang", "en")
    if w.language_button:
        page.get_by_role("button", name=w.language_button).click()
        expect(html).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", name=w.sign_up_heading)).to_be_visible()
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name=w.sign_up, exact=True).click()
    expect(page.get_by_role("heading", name=w.verify_heading)).to_be_visible()

    # --- The confirmation mail, opened in the browser.
    assert [m.to for m in mailoutbox] == [[email]]
    if language == "ru":
        assert re.search("[\u0400-\u04ff]", mailoutbox[0].subject), mailoutbox[0].subject
    page.goto(live_server.url + confirmation_path(mailoutbox[0]))
    expect(page.get_by_role("heading", name=w.confirm_heading)).to_be_visible()
    page.get_by_role("button", name=w.confirm, exact=True).click()
    expect(page).to_have_url(live_server.url + "/projects/")

    # --- Log out and back in with the confirmed address; the language stays the user's.
    # The header is in the page twice (its phone menu is hidden on a desktop): the shown one.
    page.locator("details.menu.right summary:visible").click()
    page.get_by_role("button", name=w.log_out).click()
    page.locator("header").get_by_role("link", name=w.log_in_link, exact=True).click()
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.auth-form").get_by_role("button", name=w.log_in, exact=True).click()
    expect(page).to_have_url(live_server.url + "/projects/")
    expect(html).to_have_attribute("lang", language)

    # --- A project; its creation leads to its overview, which says what to do first.
    expect(page.get_by_role("heading", name=w.projects, exact=True)).to_be_visible()
    expect(page.locator(".empty")).to_contain_text(w.no_projects)
    page.locator("input[name=name]").fill(w.project_name)
    page.locator("select[name=timezone]").select_option("Europe/Moscow")
    page.get_by_role("button", name=w.create_project).click()
    expect(page.get_by_role("heading", name=w.project_name)).to_be_visible()
    expect(page.locator(".empty").first).to_contain_text(w.no_orders)
    section(page, w.domains)
    expect(page.get_by_role("heading", name=w.domains, exact=True)).to_be_visible()

    # --- The shop's domain, pasted as a full address with a port and a slash.
    page.locator("input[name=domain]").fill(shop_site.origin + "/")
    page.get_by_role("button", name=w.add_domain).click()
    expect(page.locator("tbody")).to_contain_text(shop_site.host)

    # --- An API key.
    section(page, w.api_keys)
    expect(page.get_by_role("heading", name=w.api_keys, exact=True)).to_be_visible()
    page.locator("input[name=name]").fill(w.key_name)
    page.get_by_role("button", name=w.create_key).click()
    key_row = page.locator("tbody tr", has_text=w.key_name)
    api_key = key_row.locator("code").inner_text().strip()
    assert api_key

    # --- An event.
    section(page, w.event_keys)
    expect(page.get_by_role("heading", name=w.event_keys, exact=True)).to_be_visible()
    page.locator("input[name=name]").fill(w.event_name)
    page.get_by_role("button", name=w.create_event).click()
    event_key = page.locator("tbody tr", has_text=w.event_name).locator("code").inner_text()
    assert event_key.strip()

    # --- The helper, read from the integration page as the owner would copy it.
    section(page, w.integration)
    page.get_by_role("tab", name=w.helper_tab, exact=True).click()
    heading = page.get_by_role("heading", name=w.helper_heading)
    expect(heading).to_be_visible()
    helper = heading.locator("xpath=following-sibling::div[1]").locator("pre code").inner_text()
    assert f"const OR_API_BASE = '{live_server.url}';" in helper
    assert f"const OR_API_KEY = '{api_key}';" in helper
    assert f"event: '{event_key.strip()}'" in helper

    # --- The orders list stays open in the dashboard while the shop sells.
    section(page, w.orders)
    expect(page.get_by_role("heading", name=w.orders, exact=True)).to_be_visible()
    expect(page.locator(".empty")).to_contain_text(w.no_orders)

    shop = context.new_page()
    shop.goto(
        shop_site.serve(
            "/checkout",
            SHOP_PAGE.format(helper=helper, example=uncommented_example(helper)),
        )
    )
    shop.get_by_role("button", name="Place the order").click()
    expect(shop.locator("#status")).to_have_text("Thank you!")

    order = Order.objects.get()
    assert order.project.name == w.project_name
    assert order.origin == shop_site.origin
    assert EventRecord.objects.get().origin == shop_site.origin

    # No reload by us: the list's poller brings the order in.
    page.bring_to_front()
    row = page.locator("tbody tr", has_text=order.external_id)
    expect(row).to_be_visible(timeout=20_000)
    total = format_money(order.total, order.currency, language)
    expect(row).to_contain_text(total)

    row.get_by_role("link", name=order.external_id).click()
    expect(page.get_by_role("heading", name=w.products)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Sneakers X")
    expect(page.locator("main")).to_contain_text(total)

    # --- The event record, in the records list and counted on the event keys page.
    section(page, w.events)
    expect(page.get_by_role("heading", name=w.event_records)).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("Ruslan Garapov")
    section(page, w.event_keys)
    records = page.locator("tbody tr", has_text=w.event_name).locator("a[href$='/records/']")
    expect(records).to_have_text("1")
    records.click()
    expect(page.locator("tbody")).to_contain_text("Ruslan Garapov")

    # --- Over the plan's limit: the order is held, not lost; the banner and the plan page say
    # so; a larger plan (the operator's set-plan) releases it into the orders list.
    from orderreport.accounts.models import Usage
    from orderreport.accounts.services import get_plan, set_plan

    account = order.project.account
    Usage.objects.filter(account=account).update(used=account.plan.monthly_order_limit)
    shop.bring_to_front()
    shop.goto(shop_site.serve("/checkout-2", OVER_LIMIT_PAGE.format(helper=helper)))
    shop.get_by_role("button", name="Place the order").click()
    refused = "402 Monthly order limit reached for this account."
    expect(shop.locator("#status")).to_contain_text(refused)
    held_count, see_plan, held_heading = HELD_WORDS[language]
    page.bring_to_front()
    section(page, w.orders)
    banner = page.locator(".banner")
    expect(banner).to_contain_text(held_count)
    expect(banner).to_contain_text("W-1001")
    banner.get_by_role("link", name=see_plan).click()
    held = page.locator("#held")
    expect(held.get_by_role("heading", name=held_heading)).to_be_visible()
    expect(held.locator("tbody")).to_contain_text(format_money(259000, "RUB", language))
    assert not Order.objects.filter(external_id="W-1001").exists()
    set_plan(account, get_plan("start"))
    page.goto(f"{live_server.url}/projects/{order.project_id}/orders/")
    expect(page.locator("tbody tr", has_text="W-1001")).to_be_visible()
