from __future__ import annotations

from django.test import Client

from orderreport.accounts.models import User
from orderreport.projects.models import Domain
from tests.conftest import Shop


def _operator(client: Client) -> None:
    client.force_login(User.objects.create_superuser("operator@example.com", "operator-pw-1"))


def test_it_normalises_a_domain_added_in_the_admin(client: Client, shop: Shop) -> None:
    _operator(client)
    response = client.post(
        "/admin/projects/domain/add/",
        {"project": shop.project.pk, "host": "https://Shop.Example.com/cart", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Domain.objects.filter(project=shop.project, host="shop.example.com").exists()


def test_it_refuses_a_bad_domain_in_the_admin(client: Client, shop: Shop) -> None:
    _operator(client)
    response = client.post(
        "/admin/projects/domain/add/",
        {"project": shop.project.pk, "host": "not a domain", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "is not a valid domain name" in response.content.decode()
    assert not Domain.objects.filter(host__contains="not a").exists()
