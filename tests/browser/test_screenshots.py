"""The screenshots under docs/screenshots/, rebuilt from demo data on request.

Deselected unless asked for by name:

    pytest -m screenshots tests/browser/test_screenshots.py

It fills a project the way a shop would (orders and events through the public API), then
captures the main pages at 1280 px and the orders list at 375 px. The pages are in English,
like the docs that show them.
"""

from __future__ import annotations

import colorsys
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account
from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Domain, Event, Project
from tests.conftest import Api
from tests.notify.pictures import PictureHost, fresh_picture_cache, png

pytestmark = pytest.mark.screenshots

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOP = "https://cornershop.example"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)

# (id, customer, e-mail, phone, [(product, price in kopecks, count)], hours ago)
ORDERS = [
    ("10482", "Anna Smirnova", "anna@mail.example", "+79161234567",
     [("Linen apron", 189000, 1), ("Tea towel set", 64000, 2)], 0.3),
    ("10481", "Ivan Petrov", "", "+79031112233", [("Cast iron pan 26 cm", 459000, 1)], 2),
    ("10480", "Maria Ivanova", "maria.ivanova@mail.example", "",
     [("Ceramic mug", 89000, 4)], 5),
    ("10479", "John Doe", "john@example.com", "+998901112233", [("Sneakers X", 99000, 1)], 26),
    ("10478", "Olga K.", "olga@mail.example", "+79265550101",
     [("Bread knife", 249000, 1), ("Cutting board", 179000, 1), ("Knife sharpener", 99000, 1)],
     30),
    ("10477", "Sergey", "", "+79995554433", [("Honey 500 g", 65000, 3)], 49),
]  # fmt: skip


def _tile(name: str) -> bytes:
    """A product's picture: a plain tile of its own colour, served to the app's picture fetcher
    from a loopback host (the tests have no network)."""
    hue = sum(map(ord, name)) % 360
    r, g, b = colorsys.hls_to_rgb(hue / 360, 0.75, 0.45)
    return png(64, 64, (round(r * 255), round(g * 255), round(b * 255)))


def slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def build_demo(api: Api, pictures: PictureHost) -> tuple[User, Project]:
    user = User.objects.create_user("owner@cornershop.example", "a long demo passphrase 42")
    account = create_account(user, "Corner Shop Ltd")
    project = Project.objects.create(
        account=account, name="Corner Shop", timezone="Europe/Moscow", currency="RUB"
    )
    Domain.objects.create(project=project, host="cornershop.example")
    Domain.objects.create(project=project, host="*.cornershop.example")
    Domain.objects.create(project=project, host="xn--e1afmkfd.xn--p1ai")  # пример.рф
    Domain.objects.create(project=project, host="old-cornershop.example", is_active=False)
    key = ApiKey.objects.create(project=project, name="Shop front end")
    ApiKey.objects.create(project=project, name="Checkout server")
    ApiKey.objects.create(project=project, name="Old landing page", is_active=False)
    callback = Event.objects.create(project=project, name="Call-back request")
    newsletter = Event.objects.create(project=project, name="Newsletter sign-up")
    Event.objects.create(project=project, name="Wholesale enquiry", is_active=False)

    now = timezone.now()
    for external_id, name, email, phone, lines, hours in reversed(ORDERS):
        products = [
            {
                "name": p,
                "price": price,
                "count": count,
                "image": pictures.put(f"/img/{slug(p)}.png", _tile(p)),
            }
            for p, price, count in lines
        ]
        body: dict[str, Any] = {
            "id": external_id,
            "total": sum(price * count for _p, price, count in lines),
            "currency": "RUB",
            "username": name,
            "data": [{"name": "Delivery", "value": "Courier, 10:00-14:00"}],
            "products": products,
        }
        if email:
            body["email"] = email
        if phone:
            body["phone"] = phone
        answer = api.order(body, key.key, origin=SHOP, HTTP_USER_AGENT=USER_AGENT)
        assert answer.status_code == 201, answer.content
        Order.objects.filter(project=project, external_id=external_id).update(
            received_at=now - dt.timedelta(hours=hours)
        )
    for event, pairs in [
        (callback, [("Name", "Anna Smirnova"), ("Phone", "+79161234567")]),
        (newsletter, [("E-mail", "maria.ivanova@mail.example")]),
        (callback, [("Name", "Ivan Petrov"), ("Phone", "+79031112233"), ("Time", "after 18:00")]),
    ]:
        data = [{"name": n, "value": v} for n, v in pairs]
        answer = api.event({"event": event.key, "data": data}, key.key, origin=SHOP)
        assert answer.status_code == 201, answer.content
    return user, project


@pytest.fixture
def logged_in(
    browser: Browser, live_server: LiveServer, settings: Any, api: Api
) -> Iterator[tuple[Project, Any]]:
    settings.BASE_URL = live_server.url
    fresh_picture_cache(settings)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the shop's picture host
    pictures = PictureHost()
    user, project = build_demo(api, pictures)
    owner = Client()
    owner.force_login(user)
    session = owner.cookies[settings.SESSION_COOKIE_NAME].value

    def open_context(viewport: dict[str, int], **options: Any) -> BrowserContext:
        context = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            locale="en-US",
            timezone_id="Europe/Moscow",
            **options,
        )
        context.set_default_timeout(15_000)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        contexts.append(context)
        return context

    contexts: list[BrowserContext] = []
    yield project, open_context
    for context in contexts:
        context.close()
    pictures.close()


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / f"{name}.png", full_page=full_page, animations="disabled")


def test_it_takes_the_screenshots_of_the_main_pages(
    live_server: LiveServer, logged_in: tuple[Project, Any]
) -> None:
    project, open_context = logged_in
    base = f"{live_server.url}/projects/{project.pk}"
    page = open_context(DESKTOP).new_page()

    page.goto(f"{live_server.url}/projects/")
    shoot(page, "projects")
    page.goto(f"{base}/domains/")
    shoot(page, "domains")
    page.goto(f"{base}/keys/")
    shoot(page, "api-keys")
    page.goto(f"{base}/events/")
    shoot(page, "event-keys")
    page.goto(f"{base}/orders/")
    expect(page.locator("tbody tr:not(.poller)")).to_have_count(len(ORDERS))
    shoot(page, "orders")
    order = Order.objects.get(project=project, external_id="10478")
    page.goto(f"{base}/orders/{order.pk}/")
    expect(page.locator("img[alt='Bread knife']")).to_have_js_property("complete", True)
    shoot(page, "order-detail")
    page.goto(f"{base}/records/")
    shoot(page, "event-records")

    phone = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{base}/orders/")
    shoot(phone, "orders-phone")


def test_it_takes_the_screenshots_of_the_integration_page(
    live_server: LiveServer, logged_in: tuple[Project, Any]
) -> None:
    """The integration page's first screen (checklist, test order, the ways of sending as tabs)
    at 1280 px, on a phone and in Russian, and the guide's screenshot #4: a test order's answer."""
    project, open_context = logged_in
    url = f"{live_server.url}/projects/{project.pk}/integration/"
    page = open_context(DESKTOP).new_page()
    page.goto(url)
    expect(page.get_by_role("tab", name="cURL")).to_have_attribute("aria-selected", "true")
    shoot(page, "integration", full_page=False)

    phone = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(url)
    expect(phone.get_by_role("tablist")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, "integration-phone", full_page=False)

    # The guide's screenshot #4: the answer to the integration page's test order.
    page.get_by_role("button", name="Send a test order").click()
    section = page.locator("#test-order")
    expect(section.locator("#test-result")).to_contain_text("HTTP 201")
    page.wait_for_load_state("networkidle")
    section.screenshot(path=OUT / "test-order.png", animations="disabled")

    # That order in the list: marked "test" (issue 13 item 5), on a desktop and a phone.
    orders = f"{live_server.url}/projects/{project.pk}/orders/"
    page.goto(orders)
    first = page.locator("tbody tr:not(.poller)").first
    expect(first.locator(".badge.test")).to_have_text("test")
    shoot(page, "orders-test-order", full_page=False)
    phone.goto(orders)
    expect(phone.locator("tbody tr:not(.poller)").first.locator(".badge.test")).to_be_visible()
    shoot(phone, "orders-test-order-phone", full_page=False)

    User.objects.filter(email="owner@cornershop.example").update(language="ru")
    # A new document (not the same one with another fragment), in the reader's language.
    page.goto("about:blank")
    page.goto(url + "#way-php")
    expect(page.get_by_role("tab", name="PHP")).to_have_attribute("aria-selected", "true")
    shoot(page, "integration-ru")
    page.goto(orders)
    expect(page.locator("tbody tr:not(.poller)").first.locator(".badge.test")).to_have_text("тест")
    shoot(page, "orders-test-order-ru", full_page=False)


def build_overview_demo() -> tuple[User, Project]:
    """Corner Shop's last two months, recorded at their own times through the write side (the
    overview counts orders from the tallies the write side keeps, so a shifted received_at
    would not move them)."""
    import random

    from orderreport.accounts.services import get_plan
    from orderreport.orders.services import change_status
    from tests.reports.helpers import add_order, add_record

    user = User.objects.create_user("owner@cornershop.example", "a long demo passphrase 42")
    account = create_account(user, "Corner Shop Ltd", plan=get_plan("unlimited"))
    project = Project.objects.create(
        account=account, name="Corner Shop", timezone="Europe/Moscow", currency="RUB"
    )
    ApiKey.objects.create(project=project, name="Shop front end")
    callback = Event.objects.create(project=project, name="Call-back request")
    newsletter = Event.objects.create(project=project, name="Newsletter sign-up")
    catalogue = sorted({(p, price) for *_x, lines, _h in ORDERS for p, price, _c in lines})
    rnd = random.Random(10)
    now = timezone.now()
    for n in range(420):
        at = now - dt.timedelta(hours=rnd.uniform(0, 24 * 60))
        lines = [
            {"name": name, "price": price, "count": rnd.choice((1, 1, 1, 2, 3))}
            for name, price in rnd.sample(catalogue, rnd.choice((1, 1, 2, 3)))
        ]
        currency = "USD" if n % 9 == 0 else "RUB"
        if currency == "USD":
            lines = [{**line, "price": line["price"] // 80} for line in lines]
        total = sum(line["price"] * line["count"] for line in lines)
        order = add_order(project, at, total, currency, lines, external_id=str(20000 + n))
        roll = rnd.random()
        if roll < 0.06:
            change_status(order, "cancelled")
        elif roll < 0.08:
            change_status(order, "refunded")
        elif roll < 0.6 and at < now - dt.timedelta(days=2):
            change_status(order, rnd.choice(("paid", "shipped", "completed", "completed")))
    for _n in range(260):
        at = now - dt.timedelta(hours=rnd.uniform(0, 24 * 60))
        add_record(callback if rnd.random() < 0.6 else newsletter, at)
    return user, project


def test_it_takes_the_screenshots_of_the_overview(
    browser: Browser, live_server: LiveServer, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    user, project = build_overview_demo()
    owner = Client()
    owner.force_login(user)
    session = owner.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"{live_server.url}/projects/{project.pk}/"

    def open_page(viewport: dict[str, int], **options: Any) -> Page:
        context = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            locale="en-US",
            timezone_id="Europe/Moscow",
            **options,
        )
        context.set_default_timeout(15_000)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        return context.new_page()

    def charts_drawn(page: Page) -> None:
        expect(page.locator("canvas[data-chart]").first).to_be_visible()
        page.wait_for_function("() => Object.keys(Chart.instances).length > 0")

    page = open_page(DESKTOP)
    page.goto(url + "?period=30d")
    charts_drawn(page)
    shoot(page, "overview")

    phone = open_page(PHONE, is_mobile=True, has_touch=True)
    phone.goto(url)
    charts_drawn(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, "overview-phone")

    User.objects.filter(pk=user.pk).update(language="ru")
    page.goto(url + "?period=today")
    charts_drawn(page)
    shoot(page, "overview-ru")
    page.context.close()
    phone.context.close()


def test_it_takes_the_screenshots_of_forms_without_code(
    live_server: LiveServer, logged_in: tuple[Project, Any]
) -> None:
    """docs/forms.md: the integration page's "Form without code" section after a test
    submission, and the records list under its Spam filter."""
    project, open_context = logged_in
    base = f"{live_server.url}/projects/{project.pk}"
    callback = Event.objects.get(project=project, name="Call-back request")
    now = timezone.now()
    for minutes, reason, pairs in [
        (12, "links", [("Name", "Best offer"), ("Comment", " ".join(
            f"https://pills{n}.example/buy" for n in range(5)))]),
        (40, "honeypot", [("Name", "qwerty"), ("Phone", "123")]),
    ]:  # fmt: skip
        EventRecord.objects.create(
            project=project,
            event=callback,
            data=[{"name": n, "value": v} for n, v in pairs],
            origin=SHOP,
            received_at=now - dt.timedelta(minutes=minutes),
            spam=True,
            spam_reason=reason,
        )
    page = open_context(DESKTOP).new_page()
    page.goto(f"{base}/integration/?form_event={callback.pk}#form-without-code")
    section = page.locator("#form-without-code")
    section.get_by_role("button", name="Send a test submission").click()
    expect(section.locator("#form-test-result")).to_contain_text("HTTP 201")
    page.wait_for_load_state("networkidle")
    section.screenshot(path=OUT / "integration-form.png", animations="disabled")

    page.goto(f"{base}/records/?show=spam")
    expect(page.locator("tbody tr:not(.poller)")).to_have_count(2)
    shoot(page, "spam")


def test_it_takes_the_screenshots_of_the_plan_with_held_orders(
    live_server: LiveServer, logged_in: tuple[Project, Any], api: Api, settings: Any
) -> None:
    from orderreport.accounts.models import Usage

    settings.UPGRADE_URL = "https://orderreport.example/billing"
    project, open_context = logged_in
    account = project.account
    key = ApiKey.objects.get(project=project, name="Shop front end")
    # The Free plan used up: the next orders are answered 402 and held.
    start, _end = account.current_period()
    Usage.objects.filter(account=account, period_start=start).update(used=100)
    for external_id, total in (("10483", 1890000), ("10484", 459000), ("10485", 65000)):
        answer = api.order({"id": external_id, "total": total}, key.key, origin=SHOP)
        assert answer.status_code == 402, answer.content
    url = f"{live_server.url}/a/{account.pk}/plan/"

    page = open_context(DESKTOP).new_page()
    page.goto(url)
    expect(page.locator("table.held code")).to_have_count(3)
    shoot(page, "plan-held")
    phone = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, "plan-held-phone")
    User.objects.filter(pk=account.owner_id).update(language="ru")  # the owner's own choice
    ru = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    ru.goto(url)
    expect(ru.locator("#held-title")).to_have_text("Удержанные заказы")
    shoot(ru, "plan-held-ru")


def test_it_takes_the_screenshots_of_domains_and_the_webhook_form(
    live_server: LiveServer, logged_in: tuple[Project, Any]
) -> None:
    """docs/integration.md and docs/notifications.md: the domains page with an IDN domain shown
    as typed, the delete page of a domain a wildcard still covers, and the new webhook form
    with its "What to send" group; at 1280 px, on a phone and in Russian."""
    project, open_context = logged_in
    base = f"{live_server.url}/projects/{project.pk}"
    covered = Domain.objects.get(project=project, host="cornershop.example")
    pages = [
        ("domains", f"{base}/domains/", "пример.рф"),
        ("domain-delete", f"{base}/domains/{covered.pk}/delete/", "*.cornershop.example"),
        ("webhook-form", f"{base}/notifications/add/webhook/", "Call-back request"),
    ]
    desktop = open_context(DESKTOP).new_page()
    phone = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    for name, url, shown in pages:
        for page, suffix in ((desktop, ""), (phone, "-phone")):
            page.goto(url)
            expect(page.locator("main")).to_contain_text(shown)
            if page is phone:
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            shoot(page, name + suffix)
    User.objects.filter(email="owner@cornershop.example").update(language="ru")
    for name, url, _shown in pages:
        desktop.goto(url)
        expect(desktop.locator("html")).to_have_attribute("lang", "ru")
        shoot(desktop, name + "-ru")


# The way in and the error page (issue 13 item 8): (file name, path).
WAY_IN = [
    ("login", "/accounts/login/"),
    ("signup", "/accounts/signup/"),
    ("password-reset", "/accounts/password/reset/"),
    ("not-found", "/no-such-page/"),
]


def test_it_takes_the_screenshots_of_the_way_in(
    browser: Browser, live_server: LiveServer, settings: Any
) -> None:
    """Log in, sign up, password reset, the two-factor code and the 404 page, at 1280 and
    375 px, in English and Russian: docs/screenshots/login.png, login-phone.png,
    login-ru.png, login-ru-phone.png and so on."""
    import re

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    settings.BASE_URL = live_server.url
    user = User.objects.create_user("owner@cornershop.example", "a long demo passphrase 42")
    create_account(user, "Corner Shop Ltd")
    TOTP.activate(user, generate_totp_secret())
    for language in ("en", "ru"):
        for viewport in (DESKTOP, PHONE):
            phone = viewport is PHONE
            context = browser.new_context(
                viewport=viewport,  # type: ignore[arg-type]
                locale="en-US",
                is_mobile=phone,
                has_touch=phone,
            )
            context.set_default_timeout(15_000)
            context.add_cookies(
                [
                    {
                        "name": settings.LANGUAGE_COOKIE_NAME,
                        "value": language,
                        "url": live_server.url,
                    }
                ]
            )
            page = context.new_page()
            suffix = ("-ru" if language == "ru" else "") + ("-phone" if phone else "")
            for name, path in WAY_IN:
                page.goto(live_server.url + path)
                expect(page.locator("html")).to_have_attribute("lang", language)
                expect(page.locator("header.topbar .brand")).to_have_text("OrderReport")
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                shoot(page, name + suffix)
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_login", user.email)
            page.fill("#id_password", "a long demo passphrase 42")
            page.locator("form.auth-form button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            shoot(page, "two-factor" + suffix)
            context.close()


def test_it_takes_the_screenshots_of_the_account_menu(
    live_server: LiveServer, logged_in: tuple[Project, Any]
) -> None:
    """docs/accounts.md: the header's account menu of a member of two accounts, open over the
    projects list, at 1280 px, on a phone (inside the compact header's menu) and in Russian."""
    from orderreport.accounts.models import Membership

    _project, open_context = logged_in
    owner = User.objects.get(email="owner@cornershop.example")
    other = User.objects.create_user("boris@lavka.example", "a long demo passphrase 42")
    lavka = create_account(other, "Lavka on Arbat")
    Membership.objects.create(account=lavka, user=owner, role=Membership.Role.ADMIN)
    Project.objects.create(account=lavka, name="Arbat street", currency="RUB")
    url = f"{live_server.url}/projects/"

    def open_menu(page: Page) -> None:
        menu = page.locator("details.menu.accounts:visible")
        menu.locator("summary").click()
        expect(menu.get_by_role("button", name="Lavka on Arbat")).to_be_visible()

    page = open_context(DESKTOP).new_page()
    page.goto(url)
    open_menu(page)
    shoot(page, "account-menu", full_page=False)
    phone = open_context(PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(url)
    phone.locator(".phone-nav > summary").click()
    open_menu(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, "account-menu-phone", full_page=False)
    User.objects.filter(pk=owner.pk).update(language="ru")
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    open_menu(page)
    shoot(page, "account-menu-ru", full_page=False)
