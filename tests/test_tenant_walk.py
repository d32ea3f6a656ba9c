"""Every dashboard URL, every method, as someone who must not get through.

The patterns come from the URL resolver when the tests are collected, so a view added
tomorrow is walked tomorrow. Two walks:

- an outsider (tenant A's owner) asks for tenant B's objects: 404 (405 for a method the view
  does not take), and nothing in the database changes. Each pattern is walked once with all of
  its ids B's, then with the first ids A's own and the rest B's (A's project with B's key, A's
  channel with B's delivery...): that is the shape of a lookup that forgot its project filter.
- a viewer of tenant B sends every write method to every B object: 403 (or 405), and nothing
  changes.

A URL parameter that IDS and NEUTRAL do not know fails the walk: give the new view's
parameter a B object here, and it is covered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from orderreport.accounts.models import Account, Invitation, Membership, User
from orderreport.accounts.services import create_account, get_plan
from orderreport.events.models import EventRecord
from orderreport.notify.config import EmailConfig, TelegramConfig, WebhookConfig, dump_config
from orderreport.notify.models import Channel
from orderreport.notify.outbox import enqueue_test
from orderreport.orders.models import Order
from orderreport.orders.services import change_status
from orderreport.projects.models import ApiKey, Domain, Event, Project
from orderreport.projects.services import create_server_key

# Paths outside the walk, each with the reason. Everything else the resolver knows is walked.
EXCLUDED = {
    "api/": "the public API: authenticated by API keys, not sessions "
    "(tests/ingest/test_tenant_isolation.py)",
    "f/": "public form endpoint, addressed by an event key (tests/ingest/test_form_endpoint.py)",
    "hooks/forms/": "public form webhook, addressed by its token (tests/ingest/test_form_hook.py)",
    "forms/thanks/": "public thank-you page of the forms, shows no tenant data",
    "healthz": "public liveness probe",
    "admin/": "Django admin: staff only (tests/admin/)",
    "accounts/": "allauth's pages (log in, sign up, e-mail, two-factor): the user's own, no ids",
    "invitations/": "capability URL: the mailed token is the permission "
    "(tests/accounts/test_invitations.py)",
    "notifications/confirm/": "capability URL: the mailed token confirms its address "
    "(tests/notify/test_channels.py)",
    "static/": "static files",
    "a/new/": "creates an account of the user's own from a name; names no one's objects "
    "(tests/accounts/test_switch_account.py)",
    "bench/": "benchmark baseline, only with BENCHMARK_BASELINE",
}

# URL parameter -> which of a tenant's objects fills it (Tenant.ids). A parameter with several
# objects is walked once per object (channel_id: one channel of each kind); parameters of one
# pattern are taken together by position (the n-th channel with the n-th delivery).
IDS = {
    "account_id",
    "project_id",
    "domain_id",
    "key_id",
    "event_id",
    "record_pk",
    "order_pk",
    "channel_id",
    "delivery_id",
    "membership_id",
    "invitation_id",
}
# Parameters that name no tenant's object: the same value for both tenants.
# A product picture of the order: its position in the stored list (the first).
NEUTRAL = {"kind": [kind.value for kind in Channel.Kind], "index": [0]}

# Patterns without ids: the user's own pages. The outsider walk sends them B's ids in the
# form body and checks nothing of B's shows or changes; a viewer may change their language.
OWN_PAGES = {
    "home",
    "reports:current_account_overview",
    "projects:list",
    "accounts:set-language",
    "accounts:switch",
}
VIEWER_MAY_WRITE = {
    "accounts:set-language": "the viewer's own language, not the account's",
    "accounts:switch": "the viewer's own current account, kept in their session",
}

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
METHODS = ("GET", *WRITE_METHODS)
# Rows every request may touch: the session (messages, the current account).
VOLATILE = {"sessions.Session"}


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, for reverse()
    path: str  # the route as written, for reading a failure
    params: tuple[str, ...]


def _routes(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _routes(entry.url_patterns, route, ns)
        else:
            yield route, namespace, entry


def _excluded(route: str) -> bool:
    plain = route.lstrip("^")
    return any(plain.startswith(prefix) for prefix in EXCLUDED)


UNWALKABLE = "<needs a look>"


def dashboard_routes() -> list[Route]:
    """Every URL pattern of the dashboard, with its parameters in URL order."""
    found: list[Route] = []
    for route, namespace, entry in _routes(get_resolver().url_patterns):
        if _excluded(route):
            continue
        params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
        if not entry.name or any(mark in route for mark in ("^", "$", "(?P<")):
            # Walked by name with path() parameters; a regex or unnamed route fails the walk
            # until someone looks at it (a name, or a path() route).
            found.append(Route(UNWALKABLE, route, params))
            continue
        found.append(Route(namespace + entry.name, route, params))
    return found


ROUTES = dashboard_routes()


def _variants(route: Route) -> list[int]:
    """How many of the route's leading ids are A's own: 0 (all B's) up to all but the last."""
    ids = [p for p in route.params if p in IDS]
    if not ids:
        return []
    return list(range(len(ids)))


OUTSIDER_CASES = [
    pytest.param(route, own, id=f"{route.name}-{own}-own")
    for route in ROUTES
    for own in (_variants(route) or [0])
]
VIEWER_CASES = [pytest.param(route, id=route.name) for route in ROUTES]


# --- two tenants with one of everything -------------------------------------------------------


@dataclass
class Tenant:
    owner: User
    viewer: User
    account: Account
    project: Project
    ids: dict[str, list[int]]
    markers: tuple[str, ...]  # strings only this tenant's pages would show


def make_tenant(label: str) -> Tenant:
    tag = f"{label}-{secrets.token_hex(3)}"
    owner = User.objects.create_user(f"owner-{tag}@example.com", "correct horse battery")
    viewer = User.objects.create_user(f"viewer-{tag}@example.com", "correct horse battery")
    account = create_account(owner, f"Account {tag}", plan=get_plan("free"))
    project = Project.objects.create(account=account, name=f"Project {tag}")
    viewing = Membership.objects.create(account=account, user=viewer, role=Membership.Role.VIEWER)
    owning = Membership.objects.get(account=account, user=owner)
    domain = Domain.objects.create(project=project, host=f"{tag}.example")
    browser_key = ApiKey.objects.create(project=project, name="Site")
    server_key, _raw = create_server_key(project, "Back office")
    event = Event.objects.create(project=project, name="Call-back")
    now = timezone.now()
    record = EventRecord.objects.create(
        project=project, event=event, data=[{"name": "phone", "value": "1"}], received_at=now
    )
    order = Order.objects.create(
        project=project, external_id=f"o-{tag}", total=100, currency="RUB", received_at=now
    )
    change_status(order, "confirmed", by_user=owner)
    configs: dict[str, TelegramConfig | EmailConfig | WebhookConfig] = {
        "telegram": TelegramConfig(  # a syntactically valid token, never sent
            bot_token="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", chat_id="-1"
        ),
        "email": EmailConfig(addresses=[f"m-{tag}@example.com"], confirmed=[]),
        "webhook": WebhookConfig(url=f"https://{tag}.example/hook"),
    }
    channels = [
        Channel.objects.create(
            project=project, kind=kind, name=f"{kind} {tag}", config=dump_config(configs[kind])
        )
        for kind in NEUTRAL["kind"]
    ]
    deliveries = [enqueue_test(channel, now) for channel in channels]
    invitation = Invitation.objects.create(
        account=account,
        email=f"invited-{tag}@example.com",
        role=Membership.Role.ADMIN,
        invited_by=owner,
        expires=now + dt.timedelta(days=7),
    )
    ids = {
        "account_id": [account.pk],
        "project_id": [project.pk],
        "domain_id": [domain.pk],
        "key_id": [browser_key.pk, server_key.pk],
        "event_id": [event.pk],
        "record_pk": [record.pk],
        "order_pk": [order.pk],
        "channel_id": [c.pk for c in channels],
        "delivery_id": [d.pk for d in deliveries],
        # Never the viewer's own: leaving an account is theirs to do.
        "membership_id": [owning.pk],
        "invitation_id": [invitation.pk],
    }
    assert set(ids) == IDS
    assert viewing.pk not in ids["membership_id"]
    return Tenant(owner, viewer, account, project, ids, (project.name, account.name, tag))


@pytest.fixture
def tenants(db: None) -> tuple[Tenant, Tenant]:
    return make_tenant("a"), make_tenant("b")


def form_body(b: Tenant) -> dict[str, Any]:
    """What a write form could carry, naming B's objects: valid enough to do harm if let in."""
    return {
        "account": b.account.pk,
        "project": b.project.pk,
        "event": b.ids["event_id"][0],
        "name": "Walked",
        "confirm": b.project.name,
        "active": "1",
        "role": "admin",
        "email": "walker@example.com",
        "domain": "walker.example",
        "status": "paid",
        "timezone": "UTC",
        "currency": "RUB",
        "url": "https://walker.example/hook",
        "chat_id": "-2",
        "language": "ru",
    }


def urls(route: Route, own: int, a: Tenant, b: Tenant) -> list[str]:
    """The route with its first `own` ids from A and the rest from B; one URL per object."""
    if route.name in OWN_PAGES:
        return [reverse(route.name)]
    unknown = [p for p in route.params if p not in IDS and p not in NEUTRAL]
    if unknown or route.name == UNWALKABLE:
        pytest.fail(
            f"{route.path}: parameters {unknown} are unknown to the tenant walk (or the route "
            "has no name): add them to IDS/NEUTRAL and make_tenant() in tests/test_tenant_walk.py"
        )
    id_params = [p for p in route.params if p in IDS]
    choices: dict[str, list[Any]] = {}
    for p in route.params:
        if p in NEUTRAL:
            choices[p] = NEUTRAL[p]
        else:
            choices[p] = (a if id_params.index(p) < own else b).ids[p]
    count = max((len(v) for v in choices.values()), default=1)
    return [
        reverse(route.name, kwargs={p: v[i % len(v)] for p, v in choices.items()})
        for i in range(count)
    ]


def snapshot(skip_user: int) -> dict[str, str]:
    """A digest of every row of every table (the requesting user's own row aside)."""
    digests = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label
        if label in VOLATILE:
            continue
        rows = model._base_manager.order_by("pk")
        if model is User:
            rows = rows.exclude(pk=skip_user)
        digests[label] = hashlib.sha256(repr(list(rows.values_list())).encode()).hexdigest()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before if before[label] != after[label])


def send(client: Client, method: str, url: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        return client.get(url)
    if method == "POST":
        return client.post(url, body)
    return client.generic(
        method, url, urlencode(body), content_type="application/x-www-form-urlencoded"
    )


def test_it_walks_the_views_that_matter() -> None:
    # An exclusion that swallowed the dashboard would leave a walk that cannot fail.
    names = {route.name for route in ROUTES}
    for name in (
        "projects:key_delete",
        "projects:domain_active",
        "projects:event_active",
        "projects:event_delete",
        "notify:channel",
        "notify:toggle",
        "notify:test",
        "notify:rotate-secret",
        "notify:delete",
        "notify:resend",
        "orders:status",
        "events:record_delete",
        "accounts:change-role",
    ):
        assert name in names
    assert len(ROUTES) > 50


def test_it_knows_every_parameter_of_the_dashboard() -> None:
    unknown = {
        route.path: [p for p in route.params if p not in IDS and p not in NEUTRAL]
        for route in ROUTES
    }
    assert {path: ps for path, ps in unknown.items() if ps} == {}
    assert [route.path for route in ROUTES if route.name == UNWALKABLE] == []


@pytest.mark.parametrize(("route", "own"), OUTSIDER_CASES)
def test_it_hides_another_tenants_objects(
    client: Client, tenants: tuple[Tenant, Tenant], route: Route, own: int
) -> None:
    a, b = tenants
    client.force_login(a.owner)
    body = form_body(b)
    targets = urls(route, own, a, b)
    before = snapshot(a.owner.pk)
    for url in targets:
        for method in METHODS:
            response = send(client, method, url, body)
            where = f"{method} {url} ({route.path}) as tenant A's owner"
            content = response.content.decode(errors="replace")
            for marker in b.markers:
                assert marker not in content, f"{where} shows tenant B's {marker!r}"
            if route.name in OWN_PAGES:
                assert response.status_code < 500, where
            else:
                assert response.status_code in (404, 405), (
                    f"{where}: {response.status_code}, expected 404"
                )
            assert changed(before, snapshot(a.owner.pk)) == [], f"{where} changed the database"


@pytest.mark.parametrize("route", VIEWER_CASES)
def test_it_refuses_every_write_to_a_viewer(
    client: Client, tenants: tuple[Tenant, Tenant], route: Route
) -> None:
    if route.name in VIEWER_MAY_WRITE:
        pytest.skip(VIEWER_MAY_WRITE[route.name])
    _a, b = tenants
    client.force_login(b.viewer)
    body = form_body(b)
    targets = urls(route, 0, b, b)
    before = snapshot(b.viewer.pk)
    for url in targets:
        for method in WRITE_METHODS:
            response = send(client, method, url, body)
            where = f"{method} {url} ({route.path}) as tenant B's viewer"
            assert response.status_code in (403, 405), (
                f"{where}: {response.status_code}, expected 403"
            )
            assert changed(before, snapshot(b.viewer.pk)) == [], f"{where} changed the database"
