"""Switching the current account from the header, and starting a new account."""

from __future__ import annotations

import pytest
from django.test import Client

from orderreport.accounts.context_processors import SESSION_ACCOUNT
from orderreport.accounts.models import Account, Membership
from orderreport.accounts.services import create_account
from tests.conftest import Team

pytestmark = pytest.mark.django_db
SWITCH = "/a/switch/"


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def header_account(client: Client, path: str = "/projects/") -> str:
    """The account name the header's account menu shows."""
    body = client.get(path).content.decode()
    start = body.index('<details class="menu accounts">')
    summary = body[start : body.index("</summary>", start)]
    return summary.rsplit("</span>", 1)[1].replace("&#x27;", "'").replace("&amp;", "&")


@pytest.fixture
def two(team: Team) -> tuple[Client, Account]:
    """The team's admin, who also owns an account of their own, logged in."""
    own = create_account(team.admin, "Admin's own shop")
    return as_user(team.admin), own


def test_it_switches_the_current_account_and_remembers_it(
    team: Team, two: tuple[Client, Account]
) -> None:
    client, own = two
    client.post(SWITCH, {"account": team.shop.account.pk, "next": "/projects/"})
    assert header_account(client) == team.shop.account.name
    response = client.post(SWITCH, {"account": own.pk, "next": "/projects/"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert client.session[SESSION_ACCOUNT] == own.pk
    # Remembered for every page without an account in its address.
    assert header_account(client) == "Admin's own shop"
    assert header_account(client, "/accounts/2fa/") == "Admin's own shop"
    assert f'href="/a/{own.pk}/members/"' in client.get("/accounts/2fa/").content.decode()


@pytest.mark.parametrize(
    ("page", "lands"),
    [
        ("/a/{old}/members/", "/a/{new}/members/"),
        ("/a/{old}/plan/", "/a/{new}/plan/"),
        (
            "/a/{old}/overview/?from=2026-11-01&to=2026-11-30",
            "/a/{new}/overview/?from=2026-11-01&to=2026-11-30",
        ),
        ("/a/{old}/members/invite/", "/a/{new}/members/"),
        ("/a/{old}/delete/", "/a/{new}/members/"),
        ("/projects/?tab=1", "/projects/?tab=1"),
        ("/projects/{project}/orders/?status=new", "/projects/"),
        ("/accounts/2fa/", "/accounts/2fa/"),
        ("https://evil.example/a/{old}/members/", "/projects/"),
        ("/no/such/page/", "/projects/"),
        ("", "/projects/"),
    ],
)
def test_it_lands_on_the_same_page_of_the_other_account(
    team: Team, two: tuple[Client, Account], page: str, lands: str
) -> None:
    client, own = two
    ids = {"old": team.shop.account.pk, "new": own.pk, "project": team.shop.project.pk}
    response = client.post(SWITCH, {"account": own.pk, "next": page.format(**ids)})
    assert response.status_code == 302
    assert response["Location"] == lands.format(**ids)


@pytest.mark.parametrize("posted", ["outsider", "missing", "junk", "empty"])
def test_it_refuses_an_account_the_user_is_not_a_member_of_and_changes_nothing(
    team: Team, two: tuple[Client, Account], posted: str
) -> None:
    client, own = two
    client.post(SWITCH, {"account": own.pk, "next": "/projects/"})
    outsider_account = Membership.objects.get(user=team.outsider).account
    data = {
        "outsider": {"account": str(outsider_account.pk)},
        "missing": {"account": "999999"},
        "junk": {"account": "1 OR 1=1"},
        "empty": {},
    }[posted]
    response = client.post(SWITCH, {**data, "next": "/projects/"})
    assert response.status_code == 404
    assert client.session[SESSION_ACCOUNT] == own.pk
    assert header_account(client) == "Admin's own shop"
    body = client.get("/projects/").content.decode()
    assert outsider_account.name.replace("'", "&#x27;") not in body
    assert f"/a/{outsider_account.pk}/" not in body


def test_it_never_switches_on_a_get_or_for_a_visitor(team: Team) -> None:
    client = as_user(team.admin)
    assert client.get(SWITCH, {"account": team.shop.account.pk}).status_code == 405
    visitor = Client().post(SWITCH, {"account": team.shop.account.pk})
    assert visitor.status_code == 302
    assert visitor["Location"].startswith("/accounts/login/")


def test_it_falls_back_to_an_own_account_after_leaving_the_current_one(
    team: Team, two: tuple[Client, Account]
) -> None:
    client, _own = two
    client.post(SWITCH, {"account": team.shop.account.pk, "next": "/projects/"})
    Membership.objects.filter(user=team.admin, account=team.shop.account).delete()
    # The session still names the account it left: ignored, never shown.
    page = client.get("/projects/")
    assert page.status_code == 200
    assert header_account(client) == "Admin's own shop"
    assert team.shop.project.name not in page.content.decode()


def test_it_creates_an_account_of_ones_own_and_makes_it_current(team: Team) -> None:
    client = as_user(team.viewer)
    page = client.get("/a/new/").content.decode()
    assert "Shop or company name" in page
    response = client.post("/a/new/", {"name": "  Viewer's bakery "})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    account = Account.objects.get(owner=team.viewer)
    assert account.name == "Viewer's bakery"
    assert Membership.objects.get(user=team.viewer, account=account).role == "owner"
    assert header_account(client) == "Viewer's bakery"
    # Its projects list offers the form now, for the new account.
    body = client.get("/projects/").content.decode()
    assert "Create project" in body
    assert "The project will belong to the account <strong>Viewer&#x27;s bakery</strong>." in body


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Enter the name of your shop or company."),
        ("z" * 120, "Shorten the name to 100 characters (it has 120)."),
    ],
)
def test_it_explains_a_bad_new_account_name(team: Team, name: str, error: str) -> None:
    response = as_user(team.viewer).post("/a/new/", {"name": name})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Account.objects.filter(owner=team.viewer).exists()


def test_it_needs_a_login_to_create_an_account(db: None) -> None:
    response = Client().post("/a/new/", {"name": "Nobody's"})
    assert response.status_code == 302
    assert not Account.objects.exists()
