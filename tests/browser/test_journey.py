"""A newcomer's whole journey in Chromium, in English and in Russian.

Sign up, confirm the address from the mail, log in, create a project (the pickers start at the
browser's time zone), add the shop's domain as people paste it and a Cyrillic one with its
wildcard, create an API key, an event and a webhook to the shop's CRM, copy the JS helper from
the integration page into a shop page on another origin, place an order and send an event
there, and watch both arrive in the dashboard; past the plan's limit, then a busy month later
(counts, pages both ways, the currency filter) and on a phone. Buttons and links are found by
their visible text in the language chosen through the page's own switch, so a missing
translation fails the Russian run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.events.models import EventRecord
from orderreport.listing.queries import PAGE_SIZE
from orderreport.money import format_money
from orderreport.notify.models import Channel
from orderreport.orders.models import Order
from tests.browser.conftest import TIMEOUT_MS, ShopSite
from tests.mail import sent_mail

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
    browser_zone: str  # the zone picker's label of Asia/Yekaterinburg, the browser's zone
    shop_zone: str  # ... and of Europe/Moscow, the shop's
    rub: str
    usd: str
    any_currency: str
    project_name: str
    domains: str
    add_domain: str
    delete: str
    still_accepted: str  # the delete page of пример.рф, with *.пример.рф kept
    api_keys: str
    create_key: str
    key_name: str
    event_keys: str
    create_event: str
    event_name: str
    notifications: str
    add_webhook: str
    new_orders: str
    limit_warnings: str
    save: str
    signing_secret: str
    integration: str
    helper_tab: str
    helper_heading: str
    orders: str
    no_orders: str
    events: str
    event_records: str
    products: str
    of: str
    older: str
    previous: str
    filter: str
    menu: str


WORDS = {
    "en": Words(
        language_button=None,
        sign_up_heading="Sign up",
        sign_up="Sign up",
        verify_heading="Verify your e-mail address",
        confirm_heading="Confirm your e-mail address",
        confirm="Confirm",
        log_out="Log out",
        log_in_link="Log in",
        log_in="Log in",
        projects="Projects",
        no_projects="You have no projects yet.",
        create_project="Create project",
        browser_zone="Yekaterinburg (UTC+05:00)",
        shop_zone="Moscow (UTC+03:00)",
        rub="RUB · Russian Ruble",
        usd="USD · US Dollar",
        any_currency="Any currency",
        project_name="Corner Shop",
        domains="Domains",
        add_domain="Add domain",
        delete="Delete",
        still_accepted=(
            "Orders and events from www.пример.рф will still be accepted through *.пример.рф."
        ),
        api_keys="API keys",
        create_key="Create key",
        key_name="Shop front end",
        event_keys="Event keys",
        create_event="Create event",
        event_name="Call-back request",
        notifications="Notifications",
        add_webhook="Add Webhook",
        new_orders="New orders",
        limit_warnings="Plan-limit warnings",
        save="Save",
        signing_secret="Signing secret",
        integration="Integration",
        helper_tab="JS helper",
        helper_heading="Universal JS helper for your site",
        orders="Orders",
        no_orders="No orders yet.",
        events="Events",
        event_records="Event records",
        products="Products",
        of="of",
        older="Older orders",
        previous="Previous page",
        filter="Filter",
        menu="Menu",
    ),
    "ru": Words(
        language_button="Русский",
        sign_up_heading="Регистрация",
        sign_up="Регистрация",
        verify_heading="Подтвердите Ваш адрес электронной почты",
        confirm_heading="Подтвердите адрес электронной почты",
        confirm="Подтвердить",
        log_out="Выйти",
        log_in_link="Войти",
        log_in="Войти",
        projects="Проекты",
        no_projects="пока нет проектов",
        create_project="Создать проект",
        browser_zone="Екатеринбург (UTC+05:00)",
        shop_zone="Москва (UTC+03:00)",
        rub="RUB · российский рубль",
        usd="USD · доллар США",
        any_currency="Любая валюта",
        project_name="Лавка на углу",
        domains="Домены",
        add_domain="Добавить домен",
        delete="Удалить",
        still_accepted=(
            "Заказы и события с www.пример.рф по-прежнему будут приниматься через *.пример.рф."  # noqa: RUF001
        ),
        api_keys="API-ключи",
        create_key="Создать ключ",
        key_name="Витрина магазина",
        event_keys="Ключи событий",
        create_event="Создать событие",
        event_name="Заказ обратного звонка",
        notifications="Уведомления",
        add_webhook="Добавить: Вебхук",
        new_orders="Новые заказы",
        limit_warnings="Предупреждения о лимите тарифа",  # noqa: RUF001
        save="Сохранить",
        signing_secret="Секрет подписи",
        integration="Интеграция",
        helper_tab="JS-помощник",
        helper_heading="Универсальный JS-помощник для сайта",
        orders="Заказы",
        no_orders="Заказов пока нет.",
        events="События",
        event_records="Записи событий",
        products="Товары",
        of="из",
        older="Более старые заказы",
        previous="Предыдущая страница",
        filter="Показать",
        menu="Меню",
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
def context(browser: Browser) -> Iterator[BrowserContext]:
    """The newcomer's browser is in Yekaterinburg; the shop, we will see, is in Moscow."""
    context = browser.new_context(locale="en-US", timezone_id="Asia/Yekaterinburg")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


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
    mailoutbox: list[mail.EmailMessage],  # emptied for this test
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
    page.locator("input[name=account_name]").fill(w.project_name)
    page.get_by_role("button", name=w.sign_up, exact=True).click()
    expect(page.get_by_role("heading", name=w.verify_heading)).to_be_visible()

    # --- The confirmation mail, sent by the worker (queued by the sign-up), opened in the browser.
    outbox = sent_mail()
    assert [m.to for m in outbox] == [[email]]
    if language == "ru":
        assert re.search("[\u0400-\u04ff]", outbox[0].subject), outbox[0].subject
    page.goto(live_server.url + confirmation_path(outbox[0]))
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
    # The header names the account as typed at sign-up, not after the e-mail address.
    expect(page.locator("details.menu.accounts summary:visible")).to_contain_text(w.project_name)

    # --- A project; its creation leads to its overview, which says what to do first.
    expect(page.get_by_role("heading", name=w.projects, exact=True)).to_be_visible()
    expect(page.locator(".empty")).to_contain_text(w.no_projects)
    page.locator("input[name=name]").fill(w.project_name)
    # The pickers, in the reader's language: the zone starts at the browser's, the currency at
    # the ruble, and only currencies in use are offered; the shop is in Moscow.
    zone = page.locator("select[name=timezone]")
    expect(zone.locator("option:checked")).to_have_text(w.browser_zone)
    currency = page.locator("select[name=currency]")
    expect(currency.locator("option:checked")).to_have_text(w.rub)
    expect(currency.locator("option[value=SUR], option[value=XXX]")).to_have_count(0)
    zone.select_option(label=w.shop_zone)
    page.get_by_role("button", name=w.create_project).click()
    expect(page.get_by_role("heading", name=w.project_name)).to_be_visible()
    expect(page.locator(".empty").first).to_contain_text(w.no_orders)
    section(page, w.domains)
    expect(page.get_by_role("heading", name=w.domains, exact=True)).to_be_visible()

    # --- The shop's domain, pasted as a full address with a port and a slash.
    page.locator("input[name=domain]").fill(shop_site.origin + "/")
    page.get_by_role("button", name=w.add_domain).click()
    expect(page.locator("tbody")).to_contain_text(shop_site.host)

    # --- The shop's Russian address as typed in Cyrillic, and all its subdomains; the bare one
    # deleted again, after the delete page said what the wildcard still lets through.
    for typed in ("https://пример.рф/корзина", "*.пример.рф"):
        page.locator("input[name=domain]").fill(typed)
        page.get_by_role("button", name=w.add_domain).click()
    bare = page.locator("tbody tr").filter(has=page.get_by_text("пример.рф", exact=True))
    expect(bare).to_contain_text("xn--e1afmkfd.xn--p1ai")  # what browsers send, second
    bare.get_by_role("link", name=w.delete).click()
    expect(page.locator("main")).to_contain_text(w.still_accepted)
    page.locator("main form").get_by_role("button", name=w.delete).click()
    expect(page.locator("tbody")).to_contain_text("*.пример.рф")
    expect(bare).to_have_count(0)

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

    # --- A webhook to the shop's CRM: new orders (on from the start), the call-back requests
    # and the plan-limit warnings. The signing secret is shown once.
    section(page, w.notifications)
    page.get_by_role("link", name=w.add_webhook).click()
    page.locator("input[name=name]").fill("CRM")
    page.locator("input[name=url]").fill("https://crm.example.com/hook")
    what = page.locator("#what-to-send")
    expect(what.get_by_label(w.new_orders)).to_be_checked()
    what.get_by_label(w.event_name).check()
    what.get_by_label(w.limit_warnings).check()
    page.get_by_role("button", name=w.save, exact=True).click()
    expect(page.locator("main")).to_contain_text(w.signing_secret)
    webhook = Channel.objects.get(name="CRM")
    assert [e.name for e in webhook.events.all()] == [w.event_name]
    assert webhook.receives_orders and webhook.receives_limits

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
    # Both are on their way to the CRM (no worker runs here: they wait in the queue).
    topics = sorted(webhook.deliveries.values_list("topic", flat=True))
    assert topics == ["event", "order"], topics

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

    # --- A busy month later (recorded by the write side, as the API would): the list says how
    # many orders there are and pages both ways; the currency filter offers the shop's two.
    from tests.reports.helpers import add_order

    earlier = order.received_at - dt.timedelta(days=1)
    for n in range(PAGE_SIZE + 4):
        at = earlier - dt.timedelta(minutes=n)
        add_order(order.project, at, 99000, "USD" if n % 10 == 0 else "RUB", external_id=f"H-{n}")
    total_orders = PAGE_SIZE + 6  # with the first order and W-1001
    page.reload()
    pager = page.locator("nav.pager")
    count = pager.locator(".count")
    expect(count).to_have_text(f"1–{PAGE_SIZE} {w.of} {total_orders}")  # noqa: RUF001
    pager.get_by_role("link", name=w.older).click()
    expect(count).to_have_text(f"{PAGE_SIZE + 1}–{total_orders} {w.of} {total_orders}")  # noqa: RUF001
    pager.get_by_role("link", name=w.previous).click()
    expect(count).to_have_text(f"1–{PAGE_SIZE} {w.of} {total_orders}")  # noqa: RUF001
    currency = page.locator("select[name=currency]")
    expect(currency.locator("option")).to_have_text([w.any_currency, w.rub, w.usd])
    currency.select_option(label=w.usd)
    page.locator("form.filters").get_by_role("button", name=w.filter).click()
    expect(count).to_have_text(f"1–6 {w.of} 6")  # noqa: RUF001
    expect(currency).to_have_value("USD")

    # --- On a phone: a one-row header with its links in a menu, and the newest order on the
    # first screen.
    page.set_viewport_size({"width": 375, "height": 812})
    section(page, w.orders)
    expect(page.locator(".phone-nav > summary")).to_have_text(w.menu)
    first = page.locator("#order-rows tr:not(.poller)").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 812, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
