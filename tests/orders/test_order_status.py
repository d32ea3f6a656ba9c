"""Order statuses: the default of tracked orders, changing one on the order page, its history,
the list's status filter, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from orderreport.orders.models import Order, Status, StatusChange
from orderreport.orders.services import change_status
from tests.conftest import Api, Team
from tests.orders.conftest import MakeOrder

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def page_url(order: Order) -> str:
    return f"/projects/{order.project_id}/orders/{order.pk}/"


def status_url(order: Order) -> str:
    return f"/projects/{order.project_id}/orders/{order.pk}/status/"


def list_url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/orders/"


def order_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/\d+/orders/\d+/">([^<]*)</a>', html)


def test_orders_tracked_through_the_api_start_as_new(api: Api, team: Team) -> None:
    # The write side inserts with its own SQL that does not name the column: this is the
    # database default at work, on whichever database the run uses.
    assert api.order({"id": "api-1", "total": 100}, team.shop.key.key).status_code == 201
    order = Order.objects.get(project=team.shop.project, external_id="api-1")
    assert order.status == Status.NEW
    assert order.updated_at is None
    assert not StatusChange.objects.filter(order=order).exists()


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_change_the_status_and_the_history_says_who_and_when(
    who: str, team: Team, client: Client, make_order: MakeOrder
) -> None:
    team.shop.project.timezone = "Europe/Moscow"
    team.shop.project.save()
    user = getattr(team, who)
    user.first_name, user.last_name = "Anna", "Smirnova"
    user.save()
    order = make_order(team.shop.project, T0)
    client.force_login(user)
    before = timezone.now()

    r = client.post(status_url(order), {"status": "paid"})

    assert r.status_code == 302 and r["Location"] == page_url(order)
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.updated_at is not None and order.updated_at >= before
    change = StatusChange.objects.get(order=order)
    assert (change.from_status, change.to_status) == ("new", "paid")
    assert change.changed_by == user and change.source == "dashboard"
    assert change.changed_at == order.updated_at

    html = client.get(page_url(order)).content.decode()
    assert "Status changed to “Paid”." in html
    assert '<span class="status status-paid">Paid</span>' in html
    history = html[html.index('<ol class="history">') :]
    history = history[: history.index("</ol>")]
    assert '<span class="status status-new">New</span>' in history
    assert '<span class="status status-paid">Paid</span>' in history
    assert "by Anna Smirnova" in history
    local = change.changed_at.astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert f'datetime="{local.isoformat()}"' in history  # the project's clock


def test_a_member_without_a_name_is_shown_by_e_mail_and_the_api_as_api(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project, T0)
    change_status(order, "confirmed", by_user=team.admin)
    change_status(order, "shipped", source="api")
    client.force_login(team.viewer)
    html = client.get(page_url(order)).content.decode()
    assert f"by {team.admin.email}" in html
    assert "via the API" in html
    steps = re.findall(r'status-(\w+)">', html[html.index('<ol class="history">') :])
    assert steps[:4] == ["new", "confirmed", "confirmed", "shipped"]  # oldest first


def test_the_same_status_twice_writes_one_step(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project, T0)
    client.force_login(team.owner)
    client.post(status_url(order), {"status": "shipped"})
    r = client.post(status_url(order), {"status": "shipped"}, follow=True)
    assert "already “Shipped”" in r.content.decode()
    assert StatusChange.objects.filter(order=order).count() == 1
    assert change_status(order, "shipped", by_user=team.owner) is None
    assert StatusChange.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("value", ["lost", "", "NEW", "<b>x</b>"])
def test_an_invalid_status_is_a_form_error_not_a_500(
    value: str, team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project, T0)
    client.force_login(team.owner)
    r = client.post(status_url(order), {"status": value})
    assert r.status_code == 400
    html = r.content.decode()
    assert '<ul class="errorlist" role="alert">' in html
    assert "<b>x</b>" not in html
    assert "Choose" in html  # "…Choose one from the list." / "Choose a status."
    order.refresh_from_db()
    assert order.status == "new"
    assert not StatusChange.objects.filter(order=order).exists()


def test_the_service_refuses_an_unknown_status(team: Team, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project, T0)
    with pytest.raises(ValidationError):
        change_status(order, "lost")
    with pytest.raises(ValueError):
        change_status(order, "paid", source="telepathy")
    assert not StatusChange.objects.exists()


def test_a_viewer_sees_the_status_but_no_form_and_cannot_post(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project, T0)
    client.force_login(team.viewer)
    html = client.get(page_url(order)).content.decode()
    assert '<span class="status status-new">New</span>' in html
    assert "/status/" not in html and "Save status" not in html
    assert client.post(status_url(order), {"status": "paid"}).status_code == 403
    order.refresh_from_db()
    assert order.status == "new"


def test_an_outsider_gets_404_for_the_page_and_the_post(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project, T0)
    client.force_login(team.outsider)
    assert client.get(page_url(order)).status_code == 404
    assert client.post(status_url(order), {"status": "paid"}).status_code == 404
    order.refresh_from_db()
    assert order.status == "new"


def test_an_order_of_another_project_is_404_even_for_its_own_owner(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    from tests.conftest import make_shop

    other = make_shop(domain="elsewhere.example")
    theirs = make_order(other.project, T0)
    client.force_login(team.owner)
    # The owner's project id with the other tenant's order pk.
    r = client.post(
        f"/projects/{team.shop.project.pk}/orders/{theirs.pk}/status/", {"status": "paid"}
    )
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "new"


def test_the_status_change_needs_post(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project, T0)
    client.force_login(team.owner)
    assert client.get(status_url(order), {"status": "paid"}).status_code == 405


def test_the_status_form_is_csrf_protected(team: Team, make_order: MakeOrder) -> None:
    order = make_order(team.shop.project, T0)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team.owner)
    assert strict.post(status_url(order), {"status": "paid"}).status_code == 403
    html = strict.get(page_url(order)).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_list_shows_labels_and_filters_by_status(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    paid = [make_order(team.shop.project, T0 + dt.timedelta(minutes=i)) for i in range(3)]
    for order in paid:
        change_status(order, "paid")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=10), external_id="NEW-1")
    client.force_login(team.owner)

    html = client.get(list_url(team)).content.decode()
    assert '<span class="status status-new">New</span>' in html
    assert '<span class="status status-paid">Paid</span>' in html

    html = client.get(list_url(team), {"status": "paid"}).content.decode()
    assert order_ids(html) == [o.external_id for o in reversed(paid)]
    assert '<option value="paid" selected>' in html

    html = client.get(list_url(team), {"status": "refunded"}).content.decode()
    assert order_ids(html) == []
    assert "No orders match these filters." in html

    r = client.get(list_url(team), {"status": "lost"})
    assert r.status_code == 400
    assert order_ids(r.content.decode()) == []


def test_the_status_filter_keeps_keyset_pages(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    from orderreport.listing.queries import PAGE_SIZE

    shipped = []
    for i in range(PAGE_SIZE + 5):
        order = make_order(team.shop.project, T0 + dt.timedelta(minutes=2 * i))
        change_status(order, "shipped")
        shipped.append(order.external_id)
        make_order(team.shop.project, T0 + dt.timedelta(minutes=2 * i + 1))  # stays new
    client.force_login(team.owner)

    first = client.get(list_url(team), {"status": "shipped"}).content.decode()
    newest_first = list(reversed(shipped))
    assert order_ids(first) == newest_first[:PAGE_SIZE]
    after = re.search(r'rel="next" href="\?([^"]+)"', first)
    assert after is not None
    query = after.group(1).replace("&amp;", "&")
    assert "status=shipped" in query
    second = client.get(f"{list_url(team)}?{query}").content.decode()
    assert order_ids(second) == newest_first[PAGE_SIZE:]
    assert 'rel="next"' not in second


def test_the_live_list_polls_with_the_status_filter(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    older = make_order(team.shop.project, T0)
    change_status(older, "paid")
    client.force_login(team.owner)
    html = client.get(list_url(team), {"status": "paid"}).content.decode()
    poll = re.search(r'hx-get="([^"]+)"', html)
    assert poll is not None and "status=paid" in poll.group(1)
    newer_paid = make_order(team.shop.project, T0 + dt.timedelta(minutes=1), external_id="P2")
    change_status(newer_paid, "paid")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=2), external_id="N3")
    r = client.get(poll.group(1).replace("&amp;", "&"))
    assert order_ids(r.content.decode()) == ["P2"]


def test_labels_history_and_filter_are_in_russian(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    team.owner.language = "ru"
    team.owner.save()
    order = make_order(team.shop.project, T0)
    change_status(order, "cancelled", source="api")
    client.force_login(team.owner)

    html = client.get(list_url(team)).content.decode()
    assert '<span class="status status-cancelled">Отменён</span>' in html
    assert '<option value="refunded">Возврат</option>' in html
    assert "Любой статус" in html

    r = client.post(status_url(order), {"status": "refunded"}, follow=True)
    html = r.content.decode()
    assert "Статус изменён на «Возврат»." in html
    assert '<span class="status status-refunded">Возврат</span>' in html
    assert "через API" in html and "Изменить статус" in html
    assert "Cancelled" not in html and "Refunded" not in html
