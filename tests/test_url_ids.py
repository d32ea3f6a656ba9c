"""Every id in a dashboard URL: one the database cannot hold is a 404, never a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from tests.conftest import Team

# Past int64 (PostgreSQL's bigint refuses them), and far past it.
OUT_OF_RANGE = [2**63, 10**30]
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    """Every path() route, prefixes included; regex routes (the API's) are not ours to walk."""
    for p in patterns:
        if not isinstance(p.pattern, RoutePattern):
            continue
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if not route.startswith(("admin/", "accounts/")):  # Django's and allauth's own
                yield from routes(p.url_patterns, route)
        else:
            yield route


def numeric_routes() -> list[str]:
    found = {r for r in routes(get_resolver().url_patterns) if _PARAM.search(r)}
    return sorted(r for r in found if any(m["converter"] != "str" for m in _PARAM.finditer(r)))


def fill(route: str, big: int, team: Team) -> str:
    """Each numeric parameter in turn gets `big`; the others real ids of the owner's rows."""
    real = {"account_id": team.shop.account.pk, "project_id": team.shop.project.pk}

    def value(m: re.Match[str]) -> str:
        if m["converter"] == "str":
            return "x"
        return str(big if m["name"] == "BIG" else real.get(m["name"], 1))

    return "/" + _PARAM.sub(value, route)


def variants(route: str) -> Iterator[str]:
    """The route once per numeric parameter, that parameter renamed BIG."""
    for m in _PARAM.finditer(route):
        if m["converter"] != "str":
            yield route[: m.start()] + f"<{m['converter']}:BIG>" + route[m.end() :]


def test_the_walk_finds_the_dashboards_routes() -> None:
    found = numeric_routes()
    assert "a/<id:account_id>/plan/" in found
    assert "projects/<id:project_id>/orders/<id:order_pk>/" in found
    assert all("<int:" not in r for r in found), [r for r in found if "<int:" in r]


@pytest.mark.django_db
@pytest.mark.parametrize("big", OUT_OF_RANGE)
def test_it_answers_404_for_an_id_beyond_int64_anywhere(team: Team, big: int) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(team.owner)
    failures = []
    for route in numeric_routes():
        for variant in variants(route):
            address = fill(variant, big, team)
            for method in (client.get, client.post):
                status = method(address).status_code
                if status != 404:
                    failures.append((method.__name__, address, status))
    assert failures == [], "\n".join(map(str, failures))
