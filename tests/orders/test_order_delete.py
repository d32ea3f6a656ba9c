"""Deleting an order: /projects/<id>/orders/<order_pk>/delete/."""

from __future__ import annotations

from django.test import Client

from orderreport.orders.models import Order
from tests.conftest import Team, make_shop
from tests.orders.conftest import MakeOrder


def url(order: Order) -> str:
    return f"/projects/{order.project_id}/orders/{order.pk}/delete/"


def test_it_asks_for_confirmation_first(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project, external_id="A-1")
    client.force_login(team.owner)
    r = client.get(url(order))
    assert r.status_code == 200
    assert "Delete order A-1?" in r.content.decode()
    assert 'method="post"' in r.content.decode()
    assert Order.objects.filter(pk=order.pk).exists()


def test_it_deletes_for_the_owner(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project, external_id="A-1")
    client.force_login(team.owner)
    r = client.post(url(order), follow=True)
    assert r.redirect_chain[-1][0] == f"/projects/{team.shop.project.pk}/orders/"
    assert "Order A-1 deleted." in r.content.decode()
    assert not Order.objects.filter(pk=order.pk).exists()


def test_it_deletes_for_an_admin(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project)
    client.force_login(team.admin)
    assert client.post(url(order)).status_code == 302
    assert not Order.objects.filter(pk=order.pk).exists()


def test_it_forbids_a_viewer(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project)
    client.force_login(team.viewer)
    assert client.get(url(order)).status_code == 403
    assert client.post(url(order)).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_it_hides_the_order_from_an_outsider(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project)
    client.force_login(team.outsider)
    assert client.post(url(order)).status_code == 404
    assert Order.objects.filter(pk=order.pk).exists()


def test_it_cannot_delete_another_projects_order_through_this_project(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    theirs = make_order(make_shop(domain="elsewhere.example").project)
    client.force_login(team.owner)
    r = client.post(f"/projects/{team.shop.project.pk}/orders/{theirs.pk}/delete/")
    assert r.status_code == 404
    assert Order.objects.filter(pk=theirs.pk).exists()


def test_it_needs_the_csrf_token(team: Team, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project)
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    assert client.post(url(order)).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()
