"""Forms without code in Chromium: a shop's plain HTML form posts to /f/<event_key>.

The shop's page is served by a second local server under the name `shop.test` (Chromium maps
it to loopback: --host-resolver-rules), the form's action is the live server: a real
cross-site form post, with the Origin and Referer Chromium sends, followed by the redirect.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.events.models import EventRecord
from orderreport.projects.models import Domain
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, ShopSite
from tests.browser.session import log_in
from tests.conftest import Shop, make_shop

SHOP_HOST = "shop.test"
LEAD = [("Имя", "Анна Петрова"), ("Телефон", "+7 900 000-00-00")]


@pytest.fixture(scope="module")
def shop_browser(browser: Browser) -> Iterator[Browser]:
    """A Chromium that resolves shop.test to loopback, from the package's Playwright."""
    mapped = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1"],
        headless=True,
    )
    yield mapped
    mapped.close()


def new_page(browser: Browser, **options: object) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(timezone_id="UTC", **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def shop_page(shop_browser: Browser) -> Iterator[Page]:
    yield from new_page(shop_browser, locale="en-US")


@pytest.fixture
def no_script_page(shop_browser: Browser) -> Iterator[Page]:
    yield from new_page(shop_browser, locale="en-US", java_script_enabled=False)


@pytest.fixture
def russian_page(shop_browser: Browser) -> Iterator[Page]:
    yield from new_page(shop_browser, locale="ru-RU")


@pytest.fixture
def site_shop(transactional_db: None) -> Shop:
    return make_shop(domain=SHOP_HOST)


def shop_origin(site: ShopSite) -> str:
    return site.origin.replace(site.host, SHOP_HOST)


def serve_form(site: ShopSite, live_server: LiveServer, shop: Shop, next_url: str | None) -> str:
    """The shop's contact page with a plain form (no script); returns its shop.test URL."""
    hidden = f'<input type="hidden" name="_next" value="{escape(next_url)}">' if next_url else ""
    inputs = "".join(
        f'<label>{escape(name)} <input name="{escape(name)}"></label>' for name, _v in LEAD
    )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Contact</title>"
        "<link rel='icon' href='data:,'></head><body><h1>Call me back</h1>"
        f'<form action="{live_server.url}/f/{shop.event.key}" method="post">{inputs}{hidden}'
        # The honeypot, hidden from people as the docs suggest.
        '<input type="text" name="_gotcha" style="display:none" tabindex="-1" autocomplete="off">'
        "<button type=submit>Send</button></form></body></html>"
    )
    site.serve("/thanks", "<!doctype html><title>Thanks</title><h1>Thanks from the shop</h1>")
    return site.serve("/contact", html).replace(site.origin, shop_origin(site))


def fill_and_send(page: Page, url: str) -> None:
    page.goto(url)
    for name, value in LEAD:
        page.locator(f'input[name="{name}"]').fill(value)
    page.get_by_role("button", name="Send").click()


def assert_recorded(shop: Shop) -> EventRecord:
    record = EventRecord.objects.get(project=shop.project)
    assert [(d["name"], d["value"]) for d in record.data] == LEAD
    assert record.origin.startswith(f"http://{SHOP_HOST}:"), record.origin
    assert not record.spam
    return record


def test_a_plain_form_lands_on_next_and_the_record_is_in_the_dashboard(
    shop_page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    thanks = shop_origin(shop_site) + "/thanks"
    fill_and_send(shop_page, serve_form(shop_site, live_server, site_shop, thanks))
    shop_page.wait_for_url(thanks)
    expect(shop_page.get_by_role("heading")).to_have_text("Thanks from the shop")
    assert_recorded(site_shop)

    log_in(shop_page, live_server, site_shop.user)
    shop_page.goto(f"{live_server.url}/projects/{site_shop.project.pk}/records/")
    expect(shop_page.get_by_text("Анна Петрова")).to_be_visible()
    expect(shop_page.get_by_text("+7 900 000-00-00")).to_be_visible()


def test_it_works_with_javascript_disabled(
    no_script_page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    thanks = shop_origin(shop_site) + "/thanks"
    fill_and_send(no_script_page, serve_form(shop_site, live_server, site_shop, thanks))
    no_script_page.wait_for_url(thanks)
    expect(no_script_page.get_by_role("heading")).to_have_text("Thanks from the shop")
    assert_recorded(site_shop)


def test_without_next_it_shows_our_thank_you_page_in_russian(
    russian_page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    fill_and_send(russian_page, serve_form(shop_site, live_server, site_shop, None))
    russian_page.wait_for_url(f"{live_server.url}/forms/thanks/**")
    expect(russian_page.get_by_role("heading")).to_have_text("Спасибо!")
    back = russian_page.get_by_role("link", name="Вернуться на сайт")
    # Chromium sends only the origin as Referer across sites: the link leads to the shop.
    assert (back.get_attribute("href") or "").startswith(shop_origin(shop_site))
    assert_recorded(site_shop)


def test_an_open_redirect_in_next_is_ignored(
    shop_page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    url = serve_form(shop_site, live_server, site_shop, "https://evil.example/phish")
    fill_and_send(shop_page, url)
    shop_page.wait_for_url(f"{live_server.url}/forms/thanks/**")
    expect(shop_page.get_by_role("heading")).to_have_text("Thank you!")
    assert_recorded(site_shop)


def test_a_site_not_in_the_project_gets_a_readable_page(
    shop_page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    Domain.objects.filter(project=site_shop.project).update(host="elsewhere.example")
    Domain.objects.get(project=site_shop.project).save()  # the signal the dashboard sends
    fill_and_send(shop_page, serve_form(shop_site, live_server, site_shop, None))
    expect(shop_page.get_by_role("heading")).to_have_text("This form cannot be sent from this page")
    assert not EventRecord.objects.exists()


def test_a_builders_webhook_over_http(live_server: LiveServer, site_shop: Shop) -> None:
    url = f"{live_server.url}/hooks/forms/{site_shop.event.form_token}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    test = httpx.post(url, content=b"test=test", headers=form, timeout=30)
    assert (test.status_code, test.text) == (200, "ok")
    assert not EventRecord.objects.exists()
    post = httpx.post(
        url, data={"Name": "Анна", "tranid": "1:2", "formid": "form1", "COOKIES": "a=b"}, timeout=30
    )
    assert (post.status_code, post.text) == (200, "ok")
    record = EventRecord.objects.get(project=site_shop.project)
    assert [d["name"] for d in record.data] == ["Name", "tranid", "formid"]
