"""Changes to keys, domains and events take effect on the very next request, and refused
requests cost no database query once the key is cached."""

from __future__ import annotations

from typing import Any

import pytest

from orderreport.projects.models import ApiKey, Domain, Event, generate_api_key
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order


def ok(api: Api, shop: Shop, n: str = "1", **kwargs: Any) -> None:
    response = api.order(order(f"o-{n}"), shop.key.key, **kwargs)
    assert response.status_code == 201, response.content


def test_it_refuses_a_deactivated_key_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    shop.key.is_active = False
    shop.key.save()
    assert_error(api.order(order("2"), shop.key.key), 401, "Invalid API key", "invalid_api_key")
    shop.key.is_active = True
    shop.key.save()
    ok(api, shop, "3")


def test_it_refuses_a_deleted_key_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    raw = shop.key.key
    shop.key.delete()
    assert_error(api.order(order("2"), raw), 401, "Invalid API key", "invalid_api_key")


def test_it_refuses_the_old_value_of_a_regenerated_key_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    old = shop.key.key
    shop.key.key = generate_api_key()
    shop.key.save()
    assert_error(api.order(order("2"), old), 401, "Invalid API key", "invalid_api_key")
    ok(api, shop, "3")


def test_it_refuses_keys_of_a_deleted_project_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    shop.project.delete()
    assert_error(api.order(order("2"), shop.key.key), 401, "Invalid API key", "invalid_api_key")


def test_it_accepts_a_key_created_after_it_was_tried(api: Api, shop: Shop) -> None:
    raw = generate_api_key()
    assert_error(api.order(order(), raw), 401, "Invalid API key", "invalid_api_key")
    ApiKey.objects.create(project=shop.project, key=raw)
    assert api.order(order(), raw).status_code == 201


def test_it_accepts_a_key_activated_after_it_was_tried(api: Api, shop: Shop) -> None:
    key = ApiKey.objects.create(project=shop.project, is_active=False)
    assert_error(api.order(order(), key.key), 401, "Invalid API key", "invalid_api_key")
    key.is_active = True
    key.save()
    assert api.order(order(), key.key).status_code == 201


def test_it_refuses_a_deactivated_domain_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    shop.domain.is_active = False
    shop.domain.save()
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


def test_it_refuses_a_deleted_domain_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    shop.domain.delete()
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


def test_it_follows_a_renamed_domain_at_once(api: Api, shop: Shop) -> None:
    ok(api, shop)
    shop.domain.host = "renamed.example"
    shop.domain.save()
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    ok(api, shop, "3", origin="https://renamed.example")


def test_it_refuses_a_domain_moved_to_another_project_at_once(
    api: Api, shop: Shop, other_shop: Shop
) -> None:
    ok(api, shop)
    shop.domain.project = other_shop.project
    shop.domain.save()
    response = api.order(order("2"), shop.key.key)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = api.order(order("2"), other_shop.key.key, origin=shop.origin)
    assert response.status_code == 201


def test_it_accepts_an_added_domain_at_once(api: Api, shop: Shop) -> None:
    origin = "https://new-shop.example"
    assert api.order(order(), shop.key.key, origin=origin).status_code == 403
    Domain.objects.create(project=shop.project, host="new-shop.example")
    assert api.order(order(), shop.key.key, origin=origin).status_code == 201


def test_it_refuses_a_deactivated_event_at_once(api: Api, shop: Shop) -> None:
    body = {"event": shop.event.key, "data": []}
    assert api.event(body, shop.key.key).status_code == 201
    shop.event.is_active = False
    shop.event.save()
    assert_error(api.event(body, shop.key.key), 401, "Event is not active", "event_inactive")
    shop.event.is_active = True
    shop.event.save()
    assert api.event(body, shop.key.key).status_code == 201


def test_it_refuses_a_deleted_event_at_once(api: Api, shop: Shop) -> None:
    body = {"event": shop.event.key, "data": []}
    assert api.event(body, shop.key.key).status_code == 201
    shop.event.delete()
    assert_error(api.event(body, shop.key.key), 401, "Invalid event key", "invalid_event_key")


def test_it_accepts_an_added_event_at_once(api: Api, shop: Shop) -> None:
    body = {"event": "new-event", "data": []}
    assert api.event(body, shop.key.key).status_code == 401
    Event.objects.create(project=shop.project, name="New", key="new-event")
    assert api.event(body, shop.key.key).status_code == 201


# --- refused requests cost no query -----------------------------------------------------------


def test_it_refuses_an_unknown_key_the_second_time_without_a_query(
    api: Api, shop: Shop, django_assert_num_queries: Any
) -> None:
    unknown = generate_api_key()  # never seen, even by a shared cache
    with django_assert_num_queries(1):
        assert api.order(order(), unknown).status_code == 401
    with django_assert_num_queries(0):
        assert api.order(order(), unknown).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/orders/track", order(), {"origin": "https://evil.example"}, 403),
        ("/api/orders/track", order(), {"origin": "null"}, 403),
        ("/api/orders/track", b"{", {}, 422),
        ("/api/orders/track", {"id": "", "total": 1}, {}, 422),
        ("/api/events/track", {"event": "nope", "data": []}, {}, 401),
        ("/api/events/track", {"event": "inactive", "data": []}, {}, 401),
        ("/api/orders/track", b"x" * 70_000, {}, 413),
    ],
)
def test_it_refuses_requests_of_a_cached_key_without_a_query(
    api: Api,
    shop: Shop,
    django_assert_num_queries: Any,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
) -> None:
    Event.objects.create(project=shop.project, name="Off", key="inactive", is_active=False)
    ok(api, shop)  # caches the key
    with django_assert_num_queries(0):
        response = api.post(path, body, shop.key.key, **headers)
    assert response.status_code == status


def test_it_refuses_a_key_over_its_rate_limit_without_a_query(
    api: Api, shop: Shop, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = 0.001
    settings.RATE_LIMIT_KEY_BURST = 1
    ok(api, shop)
    with django_assert_num_queries(0):
        assert api.order(order("2"), shop.key.key).status_code == 429
