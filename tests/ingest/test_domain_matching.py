"""Which Origins a key's project accepts, end to end."""

from __future__ import annotations

import pytest

from orderreport.orders.models import Order
from orderreport.projects.domains import normalize_domain
from orderreport.projects.models import Domain
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order


def add_domain(shop: Shop, pasted: str, active: bool = True) -> Domain:
    return Domain.objects.create(
        project=shop.project, host=normalize_domain(pasted), is_active=active
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",
        "http://example.com",
        "https://www.example.com",
        "https://EXAMPLE.COM",
        "https://WWW.Example.Com",
        "https://example.com:8443",
        "http://example.com:80",
        "https://example.com.",
    ],
)
def test_it_accepts_the_domain_and_its_www(api: Api, shop: Shop, origin: str) -> None:
    response = api.order(order(), shop.key.key, origin=origin)
    assert response.status_code == 201, response.content
    assert Order.objects.get().origin == origin


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example.com",
        "https://www.www.example.com",
        "https://notexample.com",
        "https://example.com.evil.org",
        "https://example.co",
        "https://other.example",
    ],
)
def test_it_refuses_other_hosts(api: Api, shop: Shop, origin: str) -> None:
    response = api.order(order(), shop.key.key, origin=origin)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://shop.example.net", 201),
        ("https://a.b.c.example.net", 201),
        ("https://www.example.net", 201),
        ("https://example.net", 403),
        ("https://badexample.net", 403),
    ],
)
def test_it_matches_a_wildcard_at_any_depth_but_not_the_bare_domain(
    api: Api, shop: Shop, origin: str, status: int
) -> None:
    add_domain(shop, "*.example.net")
    assert api.order(order(), shop.key.key, origin=origin).status_code == status


@pytest.mark.parametrize(
    "origin", ["https://xn--e1afmkfd.xn--p1ai", "https://www.xn--e1afmkfd.xn--p1ai:443"]
)
def test_it_matches_an_idn_domain_by_its_punycode_origin(api: Api, shop: Shop, origin: str) -> None:
    domain = add_domain(shop, "https://Пример.рф/")
    assert domain.host == "xn--e1afmkfd.xn--p1ai"
    assert api.order(order(), shop.key.key, origin=origin).status_code == 201


def test_it_matches_a_utf8_idn_origin_sent_by_server_code(api: Api, shop: Shop) -> None:
    add_domain(shop, "пример.рф")
    # A WSGI server hands the raw UTF-8 header bytes over as Latin-1 text.
    raw = "https://пример.рф".encode().decode("latin-1")
    response = api.order(order(), shop.key.key, origin=raw)
    assert response.status_code == 201, response.content
    assert Order.objects.get().origin == "https://пример.рф"


def test_it_refuses_an_inactive_domain(api: Api, shop: Shop) -> None:
    add_domain(shop, "inactive.example", active=False)
    response = api.order(order(), shop.key.key, origin="https://inactive.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


def test_it_refuses_a_domain_of_another_project(api: Api, shop: Shop, other_shop: Shop) -> None:
    response = api.order(order(), shop.key.key, origin=other_shop.origin)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = api.order(order(), other_shop.key.key, origin=shop.origin)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    assert not Order.objects.exists()


def test_it_accepts_an_ip_address_domain(api: Api, shop: Shop) -> None:
    add_domain(shop, "127.0.0.1")
    assert api.order(order(), shop.key.key, origin="http://127.0.0.1:8000").status_code == 201


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "example.com",
        "https://example.com/",
        "https://example.com/shop",
        "https://user:pw@example.com",
        "https://user@example.com",
        "https://example.com:99999",
        "https://example.com:0",
        "https://example.com:abc",
        "https://example.com:²",
        "https://example.com?x",
    ],
)
@pytest.mark.parametrize("path", ["/api/orders/track", "/api/events/track"])
def test_it_answers_invalid_origin_for_malformed_origins(
    api: Api, shop: Shop, origin: str | None, path: str
) -> None:
    response = api.post(path, order(), shop.key.key, origin=origin)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")
