from __future__ import annotations

import pytest
from django.test import Client

from orderreport.accounts.models import Account, Invitation, Membership, User
from orderreport.accounts.services import create_account
from orderreport.events.models import EventRecord
from orderreport.examples import GUIDE_ORDER
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, Project
from tests.conftest import Api, Shop, Team

pytestmark = pytest.mark.django_db


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(team: Team) -> str:
    return f"/a/{team.shop.account.pk}/delete/"


def fill(team: Team, api: Api) -> None:
    """An order, an event record and an open invitation in the team's account."""
    shop = team.shop
    assert api.order(GUIDE_ORDER, shop.key.key).status_code == 201
    event = {"event": shop.event.key, "data": [{"name": "Name", "value": "Ann"}]}
    assert api.event(event, shop.key.key).status_code == 201
    response = as_user(team.owner).post(
        f"/a/{shop.account.pk}/members/invite/", {"email": "new@example.com", "role": "viewer"}
    )
    assert response.status_code == 302


def assert_untouched(shop: Shop) -> None:
    assert Account.objects.filter(pk=shop.account.pk).exists()
    assert Project.objects.filter(pk=shop.project.pk).exists()
    assert Membership.objects.filter(account=shop.account).count() >= 1


def test_it_deletes_the_account_with_its_projects_and_data(
    team: Team, other_shop: Shop, api: Api
) -> None:
    fill(team, api)
    assert api.order(GUIDE_ORDER, other_shop.key.key, origin=other_shop.origin).status_code == 201
    owner = as_user(team.owner)

    page = owner.get(url(team))
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode()

    response = owner.post(url(team), {"confirm": team.shop.account.name})

    assert response.status_code == 302
    account = team.shop.account
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not Project.objects.filter(account_id=account.pk).exists()
    assert not Order.objects.filter(project_id=team.shop.project.pk).exists()
    assert not EventRecord.objects.filter(project_id=team.shop.project.pk).exists()
    assert not ApiKey.objects.filter(pk=team.shop.key.pk).exists()
    assert not Membership.objects.filter(account_id=account.pk).exists()
    assert not Invitation.objects.filter(account_id=account.pk).exists()
    # The admin and the viewer keep their logins, with no access left to the account.
    assert User.objects.filter(pk__in=[team.admin.pk, team.viewer.pk]).count() == 2
    # Another tenant's data is untouched.
    assert_untouched(other_shop)
    assert Order.objects.filter(project=other_shop.project).count() == 1


def test_it_refuses_the_deleted_accounts_key_at_once(team: Team, api: Api) -> None:
    assert api.order(GUIDE_ORDER, team.shop.key.key).status_code == 201  # the key is cached
    as_user(team.owner).post(url(team), {"confirm": team.shop.account.name})

    answer = api.order({**GUIDE_ORDER, "id": "after"}, team.shop.key.key)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Invalid API key"


def test_it_deletes_the_owners_login_when_it_belongs_nowhere_else(team: Team) -> None:
    owner = as_user(team.owner)
    assert "your login" in owner.get(url(team)).content.decode()

    response = owner.post(url(team), {"confirm": team.shop.account.name}, follow=True)

    assert not User.objects.filter(pk=team.owner.pk).exists()
    assert response.redirect_chain[0] == ("/", 302)
    assert "Your login was deleted too." in response.content.decode()
    assert owner.get("/projects/").status_code == 302  # logged out


def test_it_keeps_the_login_of_an_owner_who_is_a_member_elsewhere(
    team: Team, other_shop: Shop
) -> None:
    Membership.objects.create(
        account=other_shop.account, user=team.owner, role=Membership.Role.VIEWER
    )
    owner = as_user(team.owner)
    assert "your login" not in owner.get(url(team)).content.decode()

    response = owner.post(url(team), {"confirm": team.shop.account.name})

    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert User.objects.filter(pk=team.owner.pk).exists()
    assert not Account.objects.filter(pk=team.shop.account.pk).exists()
    assert owner.get("/projects/").status_code == 200


def test_it_hides_the_page_from_outsiders(team: Team) -> None:
    outsider = as_user(team.outsider)
    assert outsider.get(url(team)).status_code == 404
    assert outsider.post(url(team), {"confirm": team.shop.account.name}).status_code == 404
    assert_untouched(team.shop)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_it_leaves_deletion_to_the_owner(team: Team, role: str) -> None:
    member = as_user(getattr(team, role))
    assert member.get(url(team)).status_code == 403
    assert member.post(url(team), {"confirm": team.shop.account.name}).status_code == 403
    assert_untouched(team.shop)
    # Nor is the way there offered on the members page.
    assert url(team) not in member.get(f"/a/{team.shop.account.pk}/members/").content.decode()


def test_it_offers_deletion_to_the_owner_on_the_members_page(team: Team) -> None:
    page = as_user(team.owner).get(f"/a/{team.shop.account.pk}/members/")
    assert url(team) in page.content.decode()


@pytest.mark.parametrize("typed", ["", "   ", "not the name", "SHOP"])
def test_it_explains_a_wrong_confirmation_and_deletes_nothing(team: Team, typed: str) -> None:
    response = as_user(team.owner).post(url(team), {"confirm": typed})

    assert response.status_code == 400
    body = response.content.decode()
    if typed:
        assert "not the account&#x27;s name" in body
        assert f'value="{typed}"' in body  # what was typed stays in the field
    else:
        assert "This field is required." in body
    assert_untouched(team.shop)
    assert User.objects.filter(pk=team.owner.pk).exists()


def test_it_accepts_the_name_with_stray_spaces_around_it(team: Team) -> None:
    response = as_user(team.owner).post(url(team), {"confirm": f"  {team.shop.account.name} "})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=team.shop.account.pk).exists()


def test_it_escapes_the_account_name(team: Team) -> None:
    account = create_account(team.owner, "<b>Bold & Co</b>")
    page = as_user(team.owner).get(f"/a/{account.pk}/delete/")
    body = page.content.decode()
    assert "<b>Bold" not in body
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in body


def test_it_asks_in_the_owners_language(team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save(update_fields=["language"])
    page = as_user(team.owner).get(url(team)).content.decode()
    assert "Удаление аккаунта" in page
    assert "вместе с 1 проектом" in page  # noqa: RUF001
    wrong = as_user(team.owner).post(url(team), {"confirm": "nope"}).content.decode()
    assert "Это не название аккаунта." in wrong
