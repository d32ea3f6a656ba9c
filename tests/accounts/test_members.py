from __future__ import annotations

import pytest
from django.test import Client

from orderreport.accounts.models import Account, Membership
from tests.conftest import Team

pytestmark = pytest.mark.django_db


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def url(team: Team, suffix: str = "") -> str:
    return f"/a/{team.shop.account.pk}/members/{suffix}"


def membership(team: Team, user: object) -> Membership:
    return Membership.objects.get(account=team.shop.account, user=user)


def test_it_lists_members_with_their_roles(team: Team) -> None:
    page = as_user(team.viewer).get(url(team))
    assert page.status_code == 200
    body = page.content.decode()
    for user in (team.owner, team.admin, team.viewer):
        assert user.email in body
    assert "Owner" in body
    # A viewer sees no controls that would only answer 403.
    assert "Send invitation" not in body
    assert "/role/" not in body


def test_it_hides_the_members_of_other_accounts(team: Team) -> None:
    assert as_user(team.outsider).get(url(team)).status_code == 404
    assert as_user(team.owner).get("/a/999999/members/").status_code == 404


def test_it_redirects_anonymous_visitors_to_login(team: Team) -> None:
    response = Client().get(url(team))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_lets_an_admin_change_a_role(team: Team) -> None:
    target = membership(team, team.viewer)
    response = as_user(team.admin).post(url(team, f"{target.pk}/role/"), {"role": "admin"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == "admin"


def test_it_refuses_role_changes_to_a_viewer(team: Team) -> None:
    target = membership(team, team.admin)
    response = as_user(team.viewer).post(url(team, f"{target.pk}/role/"), {"role": "viewer"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == "admin"


def test_it_explains_a_bad_role_and_never_touches_the_owner(team: Team) -> None:
    target = membership(team, team.viewer)
    bad = as_user(team.owner).post(url(team, f"{target.pk}/role/"), {"role": "owner"})
    assert bad.status_code == 400
    assert "Choose admin or viewer." in bad.content.decode()
    target.refresh_from_db()
    assert target.role == "viewer"

    owner = membership(team, team.owner)
    demote = as_user(team.admin).post(url(team, f"{owner.pk}/role/"), {"role": "viewer"})
    assert demote.status_code == 400
    assert "The owner&#x27;s role cannot be changed." in demote.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_it_removes_a_member(team: Team) -> None:
    target = membership(team, team.viewer)
    response = as_user(team.admin).post(url(team, f"{target.pk}/remove/"))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert as_user(team.viewer).get(url(team)).status_code == 404


def test_it_never_removes_the_owner(team: Team) -> None:
    owner = membership(team, team.owner)
    response = as_user(team.admin).post(url(team, f"{owner.pk}/remove/"))
    assert response.status_code == 400
    assert "The owner cannot be removed." in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_it_lets_a_viewer_leave_but_not_remove_others(team: Team) -> None:
    client = as_user(team.viewer)
    admin = membership(team, team.admin)
    assert client.post(url(team, f"{admin.pk}/remove/")).status_code == 403
    assert Membership.objects.filter(pk=admin.pk).exists()

    me = membership(team, team.viewer)
    response = client.post(url(team, f"{me.pk}/remove/"))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=me.pk).exists()


def test_it_does_not_touch_members_of_another_account_by_id(team: Team) -> None:
    foreign = Membership.objects.filter(user=team.outsider).first()
    assert foreign is not None
    response = as_user(team.owner).post(url(team, f"{foreign.pk}/remove/"))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_it_renames_the_account_and_explains_an_empty_name(team: Team) -> None:
    client = as_user(team.admin)
    rename = f"/a/{team.shop.account.pk}/name/"
    assert client.post(rename, {"name": "  Shoes & Co  "}).status_code == 302
    assert Account.objects.get(pk=team.shop.account.pk).name == "Shoes & Co"

    # Everyone in the account reads the new name in the header.
    header = as_user(team.viewer).get("/projects/").content.decode()
    assert '<summary><span class="sr-only">Account: </span>Shoes &amp; Co</summary>' in header

    bad = client.post(rename, {"name": "   "})
    assert bad.status_code == 400
    assert "Enter the name of your shop or company." in bad.content.decode()
    long = client.post(rename, {"name": "y" * 150})
    assert long.status_code == 400
    assert "Shorten the name to 100 characters (it has 150)." in long.content.decode()
    assert Account.objects.get(pk=team.shop.account.pk).name == "Shoes & Co"
    assert as_user(team.viewer).post(rename, {"name": "Mine"}).status_code == 403
    assert as_user(team.outsider).post(rename, {"name": "Mine"}).status_code == 404
    assert Account.objects.get(pk=team.shop.account.pk).name == "Shoes & Co"


def test_it_escapes_member_and_account_names(team: Team) -> None:
    Account.objects.filter(pk=team.shop.account.pk).update(name="<script>x</script>")
    body = as_user(team.owner).get(url(team)).content.decode()
    assert "<script>x</script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body


def test_it_switches_off_the_channels_that_mail_a_removed_member(team: Team) -> None:
    from orderreport.notify.models import Channel
    from orderreport.notify.services import email_config, save_channel

    project = team.shop.project

    def channel(name: str, addresses: list[str]) -> Channel:
        return save_channel(
            project,
            "email",
            name,
            email_config(project, addresses),
            receives_orders=True,
            receives_limits=False,
            events=[],
        )

    theirs = channel("Viewer", [team.viewer.email, "boss@example.com"])
    others = channel("Admin", [team.admin.email])
    assert team.viewer.email in theirs.settings.recipients

    target = membership(team, team.viewer)
    assert as_user(team.admin).post(url(team, f"{target.pk}/remove/")).status_code == 302

    theirs.refresh_from_db()
    others.refresh_from_db()
    assert not theirs.is_active
    assert team.viewer.email in theirs.disabled_reason
    # Switching it back on does not mail the former member without a new confirmation.
    assert team.viewer.email not in theirs.settings.recipients
    assert others.is_active
