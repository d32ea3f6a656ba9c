"""Unit tests of domain normalising, Origin parsing and matching."""

from __future__ import annotations

import pytest

from orderreport.projects.domains import (
    InvalidDomain,
    describe_match,
    display_host,
    host_matches,
    normalize_domain,
    origin_host,
    still_accepted,
)


@pytest.mark.parametrize(
    ("pasted", "stored"),
    [
        ("example.com", "example.com"),
        ("  Example.COM  ", "example.com"),
        ("https://Example.com/shop", "example.com"),
        ("http://example.com:8080/cart?x=1#top", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com.", "example.com"),
        ("www.example.com", "www.example.com"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("ПРИМЕР.РФ", "xn--e1afmkfd.xn--p1ai"),
        ("https://пример.рф/корзина", "xn--e1afmkfd.xn--p1ai"),
        ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
        ("*.example.com", "*.example.com"),
        ("*.пример.рф", "*.xn--e1afmkfd.xn--p1ai"),
        ("localhost", "localhost"),
        ("192.0.2.1:80", "192.0.2.1"),
        ("[2001:db8::1]", "2001:db8::1"),
    ],
)
def test_it_normalises_what_people_paste(pasted: str, stored: str) -> None:
    assert normalize_domain(pasted) == stored


@pytest.mark.parametrize(
    "pasted",
    [
        "",
        "   ",
        "exa mple.com",
        "exa.com\n.org",
        "exa\tmple.com",
        "https://user:pass@example.com",
        "user@example.com",
        "*.com",
        "a.*.example.com",
        "*example.com",
        "-bad.example.com",
        "bad_.example.com",
        "example.com:99999",
        "example.com:port",
        "a" * 64 + ".com",
        ".".join(["a" * 60] * 5),
        "http://",
    ],
)
def test_it_refuses_what_is_not_a_domain(pasted: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_domain(pasted)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://example.com", "example.com"),
        ("http://example.com", "example.com"),
        ("HTTPS://EXAMPLE.COM", "example.com"),
        ("https://example.com:8443", "example.com"),
        ("https://example.com:1", "example.com"),
        ("https://example.com:65535", "example.com"),
        ("https://example.com.", "example.com"),
        ("https://www.example.com", "www.example.com"),
        ("https://xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
        ("https://XN--E1AFMKFD.XN--P1AI", "xn--e1afmkfd.xn--p1ai"),
        ("https://пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("chrome-extension://abcdef", "abcdef"),
        ("http://[::1]:8000", "::1"),
        ("http://127.0.0.1:8000", "127.0.0.1"),
    ],
)
def test_it_reads_the_host_of_an_origin(origin: str, host: str) -> None:
    assert origin_host(origin) == host


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "example.com",
        "//example.com",
        "https://",
        "https:/example.com",
        "https://example.com/",
        "https://example.com/shop",
        "https://example.com?x=1",
        "https://example.com#x",
        "https://user@example.com",
        "https://user:pw@example.com",
        "https://example.com:",
        "https://example.com:0",
        "https://example.com:65536",
        "https://example.com:http",
        "https://example.com:-1",
        "https://example.com:²",
        "https://example.com:٣",
        "https://example.com:80:80",
        "https://exa mple.com",
        "https://example.com ",
        "https://example.com\n",
        "https\n://example.com",
        "https://exa.com\n.org",
        "https://exa\x00mple.com",
        "https://example.com\\",
        "https://*.example.com",
        "https://exa_mple.com",
        "https://-example.com",
        "https://[::1",
        "https://[::1]x",
        "1http://example.com",
        "ht tp://example.com",
        "https://" + "a" * 2100,
    ],
)
def test_it_refuses_origins_that_are_not_scheme_host_port(origin: str | None) -> None:
    assert origin_host(origin) is None


@pytest.mark.parametrize(
    ("host", "domains", "matches"),
    [
        ("example.com", ["example.com"], True),
        ("www.example.com", ["example.com"], True),
        ("shop.example.com", ["example.com"], False),
        ("www.www.example.com", ["example.com"], False),
        ("notexample.com", ["example.com"], False),
        ("example.com.evil.org", ["example.com"], False),
        ("example.co", ["example.com"], False),
        ("a.example.com", ["*.example.com"], True),
        ("a.b.c.example.com", ["*.example.com"], True),
        ("www.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("badexample.com", ["*.example.com"], False),
        ("example.com", ["*.example.com", "example.com"], True),
        ("example.com", [], False),
        ("other.example", ["example.com", "*.shop.example"], False),
        ("xn--e1afmkfd.xn--p1ai", ["xn--e1afmkfd.xn--p1ai"], True),
        ("www.xn--e1afmkfd.xn--p1ai", ["xn--e1afmkfd.xn--p1ai"], True),
    ],
)
def test_it_matches_hosts_like_the_contract_says(
    host: str, domains: list[str], matches: bool
) -> None:
    assert host_matches(host, domains) is matches


def test_it_describes_what_a_domain_matches() -> None:
    assert describe_match("example.com") == "example.com and www.example.com"
    assert (
        describe_match("*.example.com") == "every subdomain of example.com, not example.com itself"
    )
    assert describe_match("192.0.2.1") == "192.0.2.1"


@pytest.mark.parametrize(
    ("domain", "others", "kept"),
    [
        (
            "shop.example.com",
            ["*.example.com"],
            [(["shop.example.com", "www.shop.example.com"], "*.example.com")],
        ),
        ("example.com", ["*.example.com"], [(["www.example.com"], "*.example.com")]),
        ("example.com", ["example.org"], []),
        ("*.shop.example.com", ["*.example.com"], [(["*.shop.example.com"], "*.example.com")]),
        ("*.example.com", ["example.com"], []),
        ("*.example.com", ["shop.example.com"], [(["shop.example.com"], "shop.example.com")]),
        ("10.0.0.1", ["*.example.com"], []),
    ],
)
def test_it_tells_what_another_domain_still_accepts(
    domain: str, others: list[str], kept: list[tuple[list[str], str]]
) -> None:
    assert still_accepted(domain, [*others, domain]) == kept


def test_it_displays_a_domain_as_typed() -> None:
    assert display_host("*.xn--e1afmkfd.xn--p1ai") == "*.пример.рф"
    assert display_host("example.com") == "example.com"
    assert display_host("xn--zz.example") == "xn--zz.example"
