from __future__ import annotations

from django.test import Client
from django.urls import reverse

from orderreport.accounts.models import Membership, User
from orderreport.accounts.services import create_account
from orderreport.projects.models import Project
from tests.conftest import Team

URL = "/projects/"


def _new(client: Client, **data: str) -> object:
    fields = {"name": "Second shop", "timezone": "Europe/Moscow", "currency": "usd"}
    fields.update(data)
    return client.post(URL, fields)


def test_it_lists_the_users_projects(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert reverse("reports:overview", args=[team.shop.project.pk]) in response.text
    # A viewer cannot create, so the form is not shown.
    assert 'name="timezone"' not in response.text


def test_it_shows_an_empty_state_that_says_the_next_step(client: Client, db: None) -> None:
    user = User.objects.create_user("new@example.com", "pw-new-12345")
    create_account(user, "New")
    client.force_login(user)
    response = client.get(URL)
    assert "You have no projects yet. Create your first one below" in response.text
    assert 'name="name"' in response.text


def test_it_creates_a_project_and_opens_its_overview(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    response = _new(client, currency="usd")
    project = Project.objects.get(name="Second shop")
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:overview", args=[project.pk])
    assert (project.account, project.timezone, project.currency) == (
        team.shop.account,
        "Europe/Moscow",
        "USD",
    )


def test_it_lets_a_user_with_several_accounts_choose_one(client: Client, team: Team) -> None:
    mine = create_account(team.admin, "Admin's own")
    elsewhere = create_account(team.outsider, "Read only for admin")
    Membership.objects.create(account=elsewhere, user=team.admin, role=Membership.Role.VIEWER)
    client.force_login(team.admin)
    page = client.get(URL).text
    assert f'<option value="{mine.pk}">Admin&#x27;s own</option>' in page
    assert f'<option value="{team.shop.account.pk}">' in page
    # An account where they are only a viewer is not offered, and cannot be forced.
    assert f'<option value="{elsewhere.pk}">' not in page
    _new(client, account=str(mine.pk))
    assert Project.objects.get(name="Second shop").account == mine
    response = _new(client, account=str(elsewhere.pk), name="Sneaky")
    assert "Choose one of your accounts where you can create projects." in response.text
    assert not Project.objects.filter(name="Sneaky").exists()


def test_it_refuses_viewers(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    assert _new(client).status_code == 403
    assert not Project.objects.filter(name="Second shop").exists()


def test_it_hides_other_tenants_projects(client: Client, team: Team) -> None:
    client.force_login(team.outsider)
    page = client.get(URL).text
    assert reverse("reports:overview", args=[team.shop.project.pk]) not in page


def test_it_keeps_what_was_typed_and_says_what_is_wrong(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    before = Project.objects.count()
    response = _new(client, name="Kept <name>", timezone="Mars/Olympus", currency="XYZ")
    assert response.status_code == 200
    assert "Mars/Olympus is not a time zone" in response.text
    assert "XYZ is not an ISO 4217 currency code" in response.text
    assert 'value="Kept &lt;name&gt;"' in response.text
    response = _new(client, name="   ")
    assert "This field is required." in response.text
    assert Project.objects.count() == before


def test_it_escapes_project_names(client: Client, team: Team) -> None:
    Project.objects.create(account=team.shop.account, name="<script>alert(1)</script>")
    client.force_login(team.owner)
    page = client.get(URL).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_needs_a_login(client: Client, db: None) -> None:
    assert client.get(URL).status_code == 302
    assert Membership.objects.count() == 0


def test_it_says_which_account_a_new_project_belongs_to(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    page = client.get(URL).text
    name = team.shop.account.name.replace("'", "&#x27;")
    assert f"The project will belong to the account <strong>{name}</strong>." in page


def test_it_preselects_the_account_switched_to(client: Client, team: Team) -> None:
    mine = create_account(team.admin, "Admin's own")
    client.force_login(team.admin)
    for account in (team.shop.account, mine, team.shop.account):
        client.post("/a/switch/", {"account": account.pk, "next": URL})
        page = client.get(URL).text
        select = page[page.index('<select name="account"') :]
        # The first option is the one a browser shows chosen.
        first = select[select.index("<option") :].split("</option>", 1)[0]
        assert f'value="{account.pk}"' in first
        # Its projects come first too.
        heading = page.index("<h2>", page.index("<h1>"))
        assert page[heading:].startswith(f"<h2>{account.name.replace(chr(39), '&#x27;')}</h2>")


def test_it_tells_a_viewer_why_there_is_no_form_and_whom_to_ask(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    page = client.get(URL).text
    assert "Create project" not in page
    name = team.shop.account.name.replace("'", "&#x27;")
    assert (
        f"In <strong>{name}</strong> you are a viewer: viewers see projects but cannot create "
        f"them. Ask the owner, {team.owner.email}, or an admin" in page
    )
    assert 'href="/a/new/"' in page


def test_it_offers_a_user_without_any_account_to_start_one(client: Client, db: None) -> None:
    user = User.objects.create_user("alone@example.com", "pw-alone-12345")
    client.force_login(user)
    page = client.get(URL)
    assert page.status_code == 200
    assert "You are not a member of any account." in page.text
    assert 'href="/a/new/"' in page.text
    assert _new(client).status_code == 403


def test_it_asks_the_owner_to_name_an_account_named_after_an_email(
    client: Client, team: Team
) -> None:
    account = team.shop.account
    account.name = team.owner.email
    account.save()
    client.force_login(team.owner)
    page = client.get(URL).text
    assert f"Your account is still named after the address {team.owner.email}." in page
    assert f'href="/a/{account.pk}/members/#account-name"' in page
    # Viewers cannot rename, so they are not asked to.
    client.force_login(team.viewer)
    assert "still named after" not in client.get(URL).text
    # Named: the prompt is gone.
    client.force_login(team.owner)
    client.post(f"/a/{account.pk}/name/", {"name": "Corner Shop"})
    assert "still named after" not in client.get(URL).text
