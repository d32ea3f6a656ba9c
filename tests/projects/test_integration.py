from __future__ import annotations

import html
import re
import subprocess
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orderreport.accounts.models import Usage
from orderreport.events.models import EventRecord
from orderreport.orders.models import Order, OrderTally
from orderreport.projects.models import ApiKey, Domain, Event
from tests.conftest import Shop, Team


def _url(shop: Shop, name: str = "projects:integration") -> str:
    return reverse(name, args=[shop.project.pk])


def _snippets(page: str) -> list[str]:
    """Every example on the page, as the user copies it (the text of each <pre><code>)."""
    return [html.unescape(s) for s in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)]


def _snippet(page: str, starts: str, contains: str) -> str:
    (found,) = [s for s in _snippets(page) if s.startswith(starts) and contains in s]
    return found


def _example_id(page: str) -> str:
    """The example order id the page was rendered with (js/integration.js renews it on Copy)."""
    (found,) = set(re.findall(r'data-order-id="(order-\d+)"', page))
    return found


def test_it_fills_the_examples_with_the_projects_values(
    client: Client, team: Team, settings: Any
) -> None:
    settings.BASE_URL = "https://orders.example.net"
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    shop = team.shop
    curl = _snippet(page, "curl", "/api/orders/track")
    assert curl.startswith("curl -X POST 'https://orders.example.net/api/orders/track' \\\n")
    assert f"-H 'X-API-KEY: {shop.key.key}'" in curl
    assert "-H 'Origin: https://example.com'" in curl
    event_fetch = _snippet(page, "await fetch", "/api/events/track")
    assert f"event: '{shop.event.key}'" in event_fetch
    helper = _snippet(page, "const OR_API_BASE", "")
    assert "const OR_API_BASE = 'https://orders.example.net';" in helper
    assert f"const OR_API_KEY = '{shop.key.key}';" in helper
    # Each example has its copy button carrying the same text.
    assert page.count(f'data-copy="{html.escape(curl, quote=True)}"') == 1
    assert "not counted against your plan's monthly limit or in reports" in page


def test_it_gives_the_order_examples_an_id_new_at_each_page_load(
    client: Client, team: Team
) -> None:
    client.force_login(team.viewer)
    first = client.get(_url(team.shop)).text
    second = client.get(_url(team.shop)).text
    assert _example_id(first) != _example_id(second)
    for page in (first, second):
        order_id = _example_id(page)
        assert f'"id": "{order_id}"' in _snippet(page, "curl", "/api/orders/track")
        assert f"id: '{order_id}'" in _snippet(page, "await fetch", "/api/orders/track")
        assert f"//   id: '{order_id}'," in _snippet(page, "const OR_API_BASE", "")
        assert f"'id' => '{order_id}'" in _snippet(page, "<?php", "orderreport_send")


def test_it_fills_the_php_example_with_the_projects_values(
    client: Client, team: Team, settings: Any
) -> None:
    settings.BASE_URL = "https://orders.example.net"
    client.force_login(team.viewer)
    php = _snippet(client.get(_url(team.shop)).text, "<?php", "orderreport_send")
    assert "const OR_API_BASE = 'https://orders.example.net';" in php
    assert f"const OR_API_KEY = '{team.shop.key.key}';" in php
    assert "const OR_ORIGIN = 'https://example.com';" in php
    assert f"'event' => '{team.shop.event.key}'," in php
    assert "'currency' => 'RUB'," in php


def test_it_ticks_the_checklist_as_the_setup_progresses(client: Client, team: Team) -> None:
    shop = team.shop
    ApiKey.objects.filter(pk=shop.key.pk).delete()
    Domain.objects.filter(pk=shop.domain.pk).delete()
    Event.objects.filter(pk=shop.event.pk).delete()
    client.force_login(team.owner)
    page = client.get(_url(shop)).text
    assert page.count("✗ to do") == 4
    assert "'X-API-KEY': 'YOUR_API_KEY'" in html.unescape(page)
    ApiKey.objects.create(project=shop.project, name="k", is_active=False)
    Domain.objects.create(project=shop.project, host="shop.example")
    assert client.get(_url(shop)).text.count("✗ to do") == 3
    key = ApiKey.objects.create(project=shop.project, name="live")
    Event.objects.create(project=shop.project, name="Form")
    Order.objects.create(
        project=shop.project, external_id="1", total=1, currency="RUB", received_at=timezone.now()
    )
    page = client.get(_url(shop)).text
    assert page.count("✓ done") == 4
    assert key.key in page
    assert "Origin: https://shop.example" in page


def test_it_answers_404_to_outsiders(client: Client, team: Team) -> None:
    client.force_login(team.outsider)
    assert client.get(_url(team.shop)).status_code == 404
    assert client.post(_url(team.shop, "projects:test_order")).status_code == 404
    assert not Order.objects.filter(project=team.shop.project).exists()


def test_it_refuses_a_test_order_to_viewers(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    assert "Only owners and admins can send a test order." in client.get(_url(team.shop)).text
    assert client.post(_url(team.shop, "projects:test_order")).status_code == 403
    assert not Order.objects.filter(project=team.shop.project).exists()


def test_it_escapes_the_project_name(client: Client, team: Team) -> None:
    team.shop.project.name = "<script>alert(1)</script>"
    team.shop.project.save()
    client.force_login(team.owner)
    page = client.get(_url(team.shop)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_says_when_a_test_order_cannot_be_sent(client: Client, team: Team) -> None:
    Domain.objects.filter(pk=team.shop.domain.pk).update(is_active=False)
    client.force_login(team.owner)
    response = client.post(_url(team.shop, "projects:test_order"), follow=True)
    assert "A test order needs an active API key and an active domain" in response.text
    assert not Order.objects.filter(project=team.shop.project).exists()


def test_it_reports_an_unreachable_base_url(client: Client, team: Team, settings: Any) -> None:
    settings.BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    client.force_login(team.owner)
    response = client.post(_url(team.shop, "projects:test_order"), headers={"HX-Request": "true"})
    assert "No answer from http://127.0.0.1:9/api/orders/track" in response.text


# --- Against a running server ------------------------------------------------------------------


# The live server sees only committed rows, so these tests run without a wrapping transaction;
# serialized_rollback brings back the plans the migrations seed, which the flush removes.
live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def live_shop(team: Team, live_server: Any, settings: Any) -> Team:
    settings.BASE_URL = live_server.url
    return team


@live
def test_it_sends_a_real_test_order_and_shows_the_answer(client: Client, live_shop: Team) -> None:
    shop = live_shop.shop
    client.force_login(live_shop.admin)
    response = client.post(_url(shop, "projects:test_order"))
    assert response.status_code == 302
    page = client.get(_url(shop)).text
    order = Order.objects.get(project=shop.project)
    assert order.external_id.startswith("test-")
    assert order.origin == "https://example.com"
    # Flagged by the write side on the strength of the page's mark: the plan's quota and the
    # reports' tallies are untouched.
    assert order.is_test
    assert Usage.objects.filter(account=shop.account).values_list("used", flat=True).first() in (
        None,
        0,
    )
    assert not OrderTally.objects.filter(project=shop.project).exists()
    assert f"The API answered HTTP 201 to the test order {order.external_id}" in page
    assert "&quot;message&quot;: &quot;Order tracked&quot;" in page
    assert page.count("✓ done") == 4
    # The answer is shown once: a reload does not repeat it (nor the order).
    assert "The API answered" not in client.get(_url(shop)).text


@live
def test_it_shows_the_apis_refusal_in_place(client: Client, live_shop: Team) -> None:
    shop = live_shop.shop
    client.force_login(live_shop.owner)
    ok = client.post(_url(shop, "projects:test_order"), headers={"HX-Request": "true"})
    assert "HTTP 201" in ok.text
    # The checklist is swapped out of band: the first order is now ticked.
    assert 'id="checklist" hx-swap-oob="true"' in ok.text
    assert ok.text.count("✓ done") == 4
    # Only the one domain is active; a wildcard domain's origin is its www host.
    Domain.objects.filter(pk=shop.domain.pk).update(host="*.example.com")
    shop.project.save()  # invalidates the cached domains like any dashboard change
    again = client.post(_url(shop, "projects:test_order"), headers={"HX-Request": "true"})
    assert again.text.lstrip().startswith('<div id="test-result"')
    assert "HTTP 201" in again.text
    assert Order.objects.get(project=shop.project, origin="https://www.example.com")


@live
def test_its_curl_examples_work_unchanged(client: Client, live_shop: Team) -> None:
    shop = live_shop.shop
    client.force_login(live_shop.owner)
    page = client.get(_url(shop)).text
    for path in ["/api/orders/track", "/api/events/track"]:
        command = _snippet(page, "curl", path) + " --silent --write-out ' %{http_code}'"
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        assert result.stdout.endswith(" 201"), result.stdout + result.stderr
    order = Order.objects.get(project=shop.project)
    assert (order.external_id, order.currency, order.data[0]["name"]) == (
        _example_id(page),
        "RUB",
        "Имя",
    )
    assert EventRecord.objects.filter(event=shop.event).count() == 1


def _node(script: str, origin: str) -> subprocess.CompletedProcess[str]:
    # Node's fetch does not send an Origin by itself as a browser does: add the one the
    # shop's page would have.
    prelude = (
        "const realFetch = globalThis.fetch;\n"
        "globalThis.fetch = (url, init) => realFetch(url, "
        f"{{...init, headers: {{...init.headers, Origin: '{origin}'}}}});\n"
    )
    return subprocess.run(
        ["node", "--input-type=module", "-e", prelude + script],
        capture_output=True,
        text=True,
        timeout=30,
    )


@live
def test_its_javascript_examples_work_unchanged(client: Client, live_shop: Team) -> None:
    shop = live_shop.shop
    client.force_login(live_shop.owner)
    page = client.get(_url(shop)).text
    order_fetch = _snippet(page, "await fetch", "/api/orders/track")
    event_fetch = _snippet(page, "await fetch", "/api/events/track")
    helper = _snippet(page, "const OR_API_BASE", "")
    status = "const r = " + order_fetch + "\nconsole.log(r.status);"
    assert _node(status, shop.origin).stdout.strip() == "201"
    assert _node(event_fetch, shop.origin).returncode == 0
    # The helper with its commented example, uncommented, as a user would try it.
    example = helper.split("// Example:\n", 1)[1]
    calls = "\n".join(line.removeprefix("// ") for line in example.splitlines())
    calls = calls.replace(_example_id(page), "order-from-helper")
    result = _node(helper + "\n" + calls + "\nconsole.log('sent');", shop.origin)
    assert result.stdout.strip() == "sent", result.stderr
    ids = sorted(Order.objects.filter(project=shop.project).values_list("external_id", flat=True))
    assert ids == sorted([_example_id(page), "order-from-helper"])
    assert EventRecord.objects.filter(event=shop.event).count() == 2
