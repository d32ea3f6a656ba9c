"""Forms without code on the dashboard, in Chromium: the integration page's "Form without
code" section with its test submission, and the records list's Spam filter with "not spam",
at desktop and phone widths, in English and Russian, without the page growing sideways.
Screenshots go to $SCREENSHOT_DIR when it is set (for a look by eye)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.events.models import EventRecord
from orderreport.projects.services import TEST_SUBMISSION_VALUE
from tests.browser.session import log_in, no_sideways_scroll
from tests.conftest import make_shop

TEXT = {
    "en": {
        "section": "Form without code",
        "test": "Send a test submission",
        "spam": "Spam",
        "reason": "Too many links",
        "not_spam": "Not spam",
        "marked": "Marked as not spam",
    },
    "ru": {
        "section": "Форма без кода",
        "test": "Отправить тестовую заявку",
        "spam": "Спам",
        "reason": "Слишком много ссылок",
        "not_spam": "Не спам",  # noqa: RUF001
        "marked": "Отмечено как не спам",
    },
}


def shot(target: Page | Locator, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        if isinstance(target, Page):
            target.screenshot(path=f"{folder}/{name}.png", full_page=True)
        else:
            target.screenshot(path=f"{folder}/{name}.png")


@pytest.fixture(autouse=True)
def _base_url(live_server: LiveServer) -> None:
    # The test button posts to BASE_URL/f/<key>: the live server here.
    settings.BASE_URL = live_server.url


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("width", [1280, 375])
def test_an_owner_gets_a_form_and_sends_a_test_submission(
    page: Page, live_server: LiveServer, language: str, width: int
) -> None:
    shop = make_shop()
    shop.user.language = language
    shop.user.save()
    words = TEXT[language]
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, shop.user)

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/integration/#form-without-code")
    section = page.locator("#form-without-code")
    expect(section.get_by_role("heading", name=words["section"], exact=True)).to_be_visible()
    snippet = section.locator("pre code").first
    expect(snippet).to_contain_text(f'<form action="{live_server.url}/f/{shop.event.key}"')
    expect(snippet).to_contain_text('name="_gotcha"')
    expect(section).to_contain_text(f"/hooks/forms/{shop.event.form_token}")
    no_sideways_scroll(page)

    section.get_by_role("button", name=words["test"]).click()
    expect(section.locator("#form-test-result")).to_contain_text("HTTP 201")
    no_sideways_scroll(page)
    shot(section, f"form-section-{language}-{width}")
    record = EventRecord.objects.get(project=shop.project)
    assert record.data[0] == {"name": "name", "value": TEST_SUBMISSION_VALUE}

    # The answer links to the record it made.
    section.locator("#form-test-result a").click()
    expect(page.locator("main")).to_contain_text(TEST_SUBMISSION_VALUE)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("width", [1280, 375])
def test_an_owner_finds_spam_and_marks_it_not_spam(
    page: Page, live_server: LiveServer, language: str, width: int
) -> None:
    shop = make_shop()
    shop.user.language = language
    shop.user.save()
    words = TEXT[language]
    links = " ".join(f"https://spam{n}.example/" for n in range(6))
    EventRecord.objects.create(
        project=shop.project,
        event=shop.event,
        data=[{"name": "comment", "value": "Cheap pills " + links}],
        received_at=timezone.now(),
        spam=True,
        spam_reason="links",
        origin="https://example.com",
    )
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, shop.user)

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/records/")
    expect(page.locator("main")).not_to_contain_text("Cheap pills")
    page.locator(".tabs").get_by_role("link", name=words["spam"], exact=True).click()
    row = page.locator("tbody tr:not(.poller)")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Cheap pills")
    expect(row).to_contain_text(words["reason"])
    no_sideways_scroll(page)
    shot(page, f"spam-{language}-{width}")

    row.get_by_role("button", name=words["not_spam"]).click()
    expect(page.get_by_text(words["marked"])).to_be_visible()
    expect(page.locator("tbody tr:not(.poller)")).to_have_count(0)
    page.locator(".tabs a").first.click()
    expect(page.locator("tbody tr:not(.poller)")).to_contain_text("Cheap pills")
    assert not EventRecord.objects.get(project=shop.project).spam
