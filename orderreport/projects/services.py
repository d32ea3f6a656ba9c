"""Project actions shared by the dashboard, the command line and the tests.

Every change goes through Model.save()/delete(), never QuerySet.update(): the tracking API's
key cache is invalidated by model signals (orderreport/ingest/signals.py), and that is what
makes a deactivated key fail on the very next API request.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderreport.accounts.models import Account
from orderreport.projects import testmark
from orderreport.projects.domains import InvalidDomain, normalize_domain
from orderreport.projects.models import (
    SERVER_KEY_DISPLAY_CHARS,
    ApiKey,
    Domain,
    Event,
    Project,
    generate_event_key,
    generate_form_token,
    generate_server_key,
    hash_server_key,
)


class DuplicateDomain(InvalidDomain):
    pass


class DuplicateEvent(ValueError):
    pass


# --- Projects --------------------------------------------------------------------------------


def create_project(account: Account, name: str, time_zone: str, currency: str) -> Project:
    return Project.objects.create(
        account=account, name=name.strip(), timezone=time_zone, currency=currency.upper()
    )


def update_project(project: Project, name: str, time_zone: str, currency: str) -> Project:
    project.name = name.strip()
    project.timezone = time_zone
    project.currency = currency.upper()
    project.save(update_fields=["name", "timezone", "currency"])
    return project


@transaction.atomic
def delete_project(project: Project) -> None:
    """Delete a project with its domains, keys, events, orders and records."""
    # The cascade deletes each ApiKey through the collector, which sends post_delete and so
    # drops the keys from the tracking cache (signals are why Django cannot fast-delete them).
    project.delete()


# --- Domains ---------------------------------------------------------------------------------


def add_domain(project: Project, text: str) -> Domain:
    """Normalise what the owner pasted and add it; InvalidDomain says what is wrong."""
    host = normalize_domain(text)
    if Domain.objects.filter(project=project, host=host).exists():
        raise DuplicateDomain(f"{host} is already in this project.")
    try:
        # The savepoint keeps an outer transaction usable if a concurrent add wins the race.
        with transaction.atomic():
            return Domain.objects.create(project=project, host=host)
    except IntegrityError:
        raise DuplicateDomain(f"{host} is already in this project.") from None


def set_domain_active(domain: Domain, active: bool) -> Domain:
    domain.is_active = active
    domain.save(update_fields=["is_active"])
    return domain


def delete_domain(domain: Domain) -> None:
    domain.delete()


# --- API keys --------------------------------------------------------------------------------


def create_api_key(project: Project, name: str) -> ApiKey:
    """A browser key: its value is stored and shown on the keys page and in the snippets."""
    return ApiKey.objects.create(project=project, name=name.strip())


def _new_server_value(key: ApiKey) -> str:
    raw = generate_server_key()
    key.key = hash_server_key(raw)
    key.prefix = raw[:SERVER_KEY_DISPLAY_CHARS]
    return raw


def create_server_key(project: Project, name: str) -> tuple[ApiKey, str]:
    """A server key and its value, which is stored nowhere: show it once, then forget it."""
    key = ApiKey(project=project, name=name.strip(), kind=ApiKey.Kind.SERVER)
    raw = _new_server_value(key)
    key.save()
    return key, raw


def rotate_server_key(key: ApiKey) -> str:
    """Give a server key a new value (returned, shown once); the old one is refused from the
    next request in every process (the save deletes the old value's cache entry)."""
    if not key.is_server:
        raise ValueError("only server keys are rotated")
    raw = _new_server_value(key)
    key.save(update_fields=["key", "prefix"])
    return raw


def set_key_active(key: ApiKey, active: bool) -> ApiKey:
    key.is_active = active
    key.save(update_fields=["is_active"])
    return key


def delete_api_key(key: ApiKey) -> None:
    key.delete()


# --- Events ----------------------------------------------------------------------------------


def _check_event_name(project: Project, name: str, exclude: int | None = None) -> None:
    # Two events with one name would look the same on the records pages and in e-mails.
    others = Event.objects.filter(project=project, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise DuplicateEvent(name)


def create_event(project: Project, name: str) -> Event:
    """Create an event with a fresh key, unique in the project."""
    name = name.strip()
    _check_event_name(project, name)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Event.objects.create(project=project, name=name, key=generate_event_key())
        except IntegrityError:
            # 36^12 keys: a collision is next to impossible, but the constraint is the
            # authority, so try again rather than fail the owner's click.
            continue
    raise IntegrityError("could not generate a unique event key")


def rename_event(event: Event, name: str) -> Event:
    name = name.strip()
    _check_event_name(event.project, name, exclude=event.pk)
    event.name = name
    event.save(update_fields=["name"])
    return event


def set_event_active(event: Event, active: bool) -> Event:
    event.is_active = active
    event.save(update_fields=["is_active"])
    return event


def rotate_form_token(event: Event) -> str:
    """Give the event a new builder webhook token; the old one is refused from the next post
    (the pre_save signal in ingest/signals.py drops its cached lookup)."""
    event.form_token = generate_form_token()
    event.save(update_fields=["form_token"])
    return event.form_token


def delete_event(event: Event) -> None:
    """Delete an event and the records it received."""
    event.delete()


# --- Integration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What a project has in place for the integration guide (the page's checklist)."""

    key: ApiKey | None
    domain: Domain | None
    event: Event | None
    has_orders: bool

    @property
    def origin(self) -> str | None:
        return origin_for(self.domain.host) if self.domain else None


def project_setup(project: Project) -> Setup:
    return Setup(
        # A browser key: the snippets put it in a page (a server key's value is not stored).
        key=project.api_keys.filter(is_active=True, kind=ApiKey.Kind.BROWSER)
        .order_by("id")
        .first(),
        domain=project.domains.filter(is_active=True).order_by("id").first(),
        event=project.events.filter(is_active=True).order_by("id").first(),
        has_orders=project.orders.exists(),
    )


def origin_for(host: str) -> str:
    """An Origin a site on this domain would send (a wildcard stands for its www host)."""
    if host.startswith("*."):
        return "https://www." + host[2:]
    if ":" in host:  # an IPv6 literal
        return f"http://[{host}]"
    if host.replace(".", "").isdigit():
        return "http://" + host
    return "https://" + host


@dataclass(frozen=True)
class TestOrderResult:
    order_id: str
    url: str
    status: int | None  # None: no answer at all (see `error`)
    body: Any = None  # the decoded JSON, or the raw text if it was not JSON
    error: str = ""


class NotReady(ValueError):
    """The project lacks an active key or domain, so a test order cannot be sent."""


TEST_ORDER_TIMEOUT = 5.0


def send_test_order(project: Project) -> TestOrderResult:
    """Send a real order through the public API, as a shop's server would, and report the
    answer. It carries the dashboard's mark (testmark.py): the write side stores it as a test
    order, which neither counts against the plan nor shows in reports."""
    setup = project_setup(project)
    if setup.key is None or setup.origin is None:
        raise NotReady
    order_id = f"test-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    url = settings.BASE_URL + "/api/orders/track"
    payload = {
        "id": order_id,
        "total": 100,
        "currency": project.currency,
        "username": "OrderReport test",
        "data": [{"name": "Source", "value": "Integration page test button"}],
    }
    try:
        # Straight httpx rather than the outbound wrapper: this is our own configured
        # BASE_URL (often a loopback address the SSRF guard rightly refuses), never user input.
        response = httpx.post(
            url,
            json=payload,
            headers={
                "X-API-KEY": setup.key.key,
                "Origin": setup.origin,
                testmark.HEADER: testmark.mark(project.pk, order_id),
            },
            timeout=TEST_ORDER_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return TestOrderResult(order_id, url, None, error=str(exc) or type(exc).__name__)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    return TestOrderResult(order_id, url, response.status_code, body)


@dataclass(frozen=True)
class TestSubmissionResult:
    url: str
    status: int | None  # None: no answer at all (see `error`)
    body: Any = None
    record_id: int | None = None
    error: str = ""


TEST_SUBMISSION_VALUE = "Test submission from the integration page"


def form_url(event: Event) -> str:
    """The `action` of a plain HTML form recording this event."""
    return f"{settings.BASE_URL}/f/{quote(event.key, safe='')}"


def hook_url(event: Event) -> str:
    """The site builders' webhook address of this event: a secret, for owners and admins."""
    return f"{settings.BASE_URL}/hooks/forms/{quote(event.form_token, safe='')}"


def event_fields(event: Event, sample: int = 20) -> list[str]:
    """The data names of the event's latest records, in order of first appearance."""
    names: list[str] = []
    recent = event.records.filter(spam=False).order_by("-received_at", "-id")
    for data in recent.values_list("data", flat=True)[:sample]:
        for pair in data if isinstance(data, list) else []:
            name = pair.get("name") if isinstance(pair, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def send_test_submission(
    project: Project, event: Event, fields: Sequence[str]
) -> TestSubmissionResult:
    """Post a form to the event's form address, as a visitor's browser on the project's first
    active domain would, and report the answer. The record it makes is a real one."""
    setup = project_setup(project)
    if setup.origin is None or not event.is_active:
        raise NotReady
    url = form_url(event)
    # Every value says what the record is, to whoever reads it in the list or a notification.
    data = [(name, TEST_SUBMISSION_VALUE) for name in fields]
    try:
        # Straight httpx as in send_test_order: our own BASE_URL, never user input.
        response = httpx.post(
            url,
            content=urlencode(data),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": setup.origin,
                "Accept": "application/json",
            },
            timeout=TEST_ORDER_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return TestSubmissionResult(url, None, error=str(exc) or type(exc).__name__)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    record_id = None
    if response.status_code == 201 and isinstance(body, dict):
        found = str(body.get("id", ""))
        record_id = int(found) if found.isdigit() else None
    return TestSubmissionResult(url, response.status_code, body, record_id)
