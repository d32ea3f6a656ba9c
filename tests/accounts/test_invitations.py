from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from orderreport.accounts.models import Invitation, Membership, User
from tests.conftest import Team
from tests.mail import sent_mail

pytestmark = pytest.mark.django_db
PASSWORD = "a long and unusual passphrase 42"


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def invite(client: Client, team: Team, email: str, role: str = "viewer") -> Any:
    return client.post(f"/a/{team.shop.account.pk}/members/invite/", {"email": email, "role": role})


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_it_mails_an_invitation_with_a_link(team: Team) -> None:
    response = invite(as_user(team.owner), team, "Colleague@Example.com", "admin")
    assert response.status_code == 302
    invitation = Invitation.objects.get(account=team.shop.account)
    assert (invitation.email, invitation.role) == ("colleague@example.com", "admin")
    assert [m.to for m in sent_mail()] == [["colleague@example.com"]]
    assert team.shop.account.name in sent_mail()[0].subject
    assert link_in(sent_mail()[0]) == f"/invitations/{invitation.token}/"
    assert (
        "colleague@example.com"
        in as_user(team.owner).get(f"/a/{team.shop.account.pk}/members/").content.decode()
    )


def test_it_refuses_invitations_from_a_viewer(team: Team) -> None:
    assert invite(as_user(team.viewer), team, "x@example.com").status_code == 403
    assert not Invitation.objects.exists()
    assert sent_mail() == []


def test_it_hides_the_invite_form_from_outsiders(team: Team) -> None:
    assert invite(as_user(team.outsider), team, "x@example.com").status_code == 404
    assert not Invitation.objects.exists()


def test_it_explains_bad_invitations_and_keeps_the_input(team: Team) -> None:
    client = as_user(team.admin)
    bad = invite(client, team, "not-an-address")
    assert bad.status_code == 400
    assert "Enter a valid email address." in bad.content.decode()
    assert 'value="not-an-address"' in bad.content.decode()

    owner_role = invite(client, team, "boss@example.com", "owner")
    assert owner_role.status_code == 400
    assert "Select a valid choice." in owner_role.content.decode()

    member = invite(client, team, team.viewer.email)
    assert member.status_code == 400
    assert f"{team.viewer.email} is already a member." in member.content.decode()
    assert not Invitation.objects.exists()
    assert sent_mail() == []


def test_it_replaces_an_open_invitation_when_inviting_again(team: Team) -> None:
    client = as_user(team.owner)
    invite(client, team, "again@example.com")
    first = Invitation.objects.get()
    invite(client, team, "again@example.com", "admin")
    second = Invitation.objects.get()
    assert second.token != first.token
    assert second.role == "admin"
    assert Client().get(f"/invitations/{first.token}/").status_code == 404


def test_it_lets_the_invitee_sign_up_and_accept_without_a_second_confirmation(
    team: Team,
) -> None:
    invite(as_user(team.owner), team, "newcomer@example.com")
    link = link_in(sent_mail()[0])
    sent_mail().clear()

    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert "Sign up to accept" in page.content.decode()
    # The sign-up form knows the address from the invitation, and asks for no account name:
    # the newcomer joins the inviter's account.
    form = client.get("/accounts/signup/").content.decode()
    assert 'value="newcomer@example.com"' in form
    assert 'name="account_name"' not in form
    signup = client.post(
        f"/accounts/signup/?next={link}",
        {"email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    # The invitation proved the address, so no confirmation mail; signing up accepted it.
    assert signup.status_code == 302
    assert signup["Location"] == link
    assert sent_mail() == []
    user = User.objects.get(email="newcomer@example.com")
    assert Membership.objects.get(account=team.shop.account, user=user).role == "viewer"
    assert Invitation.objects.get().accepted is not None
    # No account of their own named after nothing: the inviter's is the only one.
    assert list(Membership.objects.filter(user=user).values_list("account", flat=True)) == [
        team.shop.account.pk
    ]

    # Back at the link: straight in, the inviter's account current.
    arrived = client.get(link)
    assert arrived.status_code == 302
    assert arrived["Location"] == "/projects/"
    projects = client.get("/projects/").content.decode()
    assert f"You joined {team.shop.account.name}." in projects.replace("&#x27;", "'")
    assert team.shop.project.name in projects


def test_it_lets_an_existing_user_log_in_and_accept(team: Team) -> None:
    invite(as_user(team.owner), team, team.outsider.email, "admin")
    link = link_in(sent_mail()[0])
    anonymous = Client().get(link)
    assert "Log in to accept" in anonymous.content.decode()

    client = as_user(team.outsider)
    assert client.post(link).status_code == 302
    role = Membership.objects.get(account=team.shop.account, user=team.outsider).role
    assert role == "admin"
    # Used up: a second visit says so, except to the member it made, whom it takes in.
    again = Client().get(link)
    assert again.status_code == 410
    assert "has been used or withdrawn" in again.content.decode()
    assert client.get(link)["Location"] == "/projects/"


def test_it_refuses_an_expired_invitation(team: Team) -> None:
    invite(as_user(team.owner), team, team.outsider.email)
    Invitation.objects.update(expires=timezone.now() - dt.timedelta(minutes=1))
    link = link_in(sent_mail()[0])
    client = as_user(team.outsider)
    page = client.post(link)
    assert page.status_code == 410
    assert "This invitation has expired. Ask for a new one." in page.content.decode()
    assert not Membership.objects.filter(account=team.shop.account, user=team.outsider).exists()


def test_it_refuses_the_invitation_to_another_user(team: Team) -> None:
    invite(as_user(team.owner), team, "someone.else@example.com")
    link = link_in(sent_mail()[0])
    page = as_user(team.outsider).post(link)
    assert page.status_code == 403
    assert "This invitation was sent to someone.else@example.com." in page.content.decode()
    assert not Membership.objects.filter(account=team.shop.account, user=team.outsider).exists()
    assert Invitation.objects.get().accepted is None


def test_it_answers_404_for_an_unknown_token(team: Team) -> None:
    assert as_user(team.outsider).get("/invitations/made-up-token/").status_code == 404


def test_it_withdraws_an_invitation(team: Team) -> None:
    invite(as_user(team.owner), team, "later@example.com")
    invitation = Invitation.objects.get()
    revoke = f"/a/{team.shop.account.pk}/members/invitations/{invitation.pk}/revoke/"
    assert as_user(team.viewer).post(revoke).status_code == 403
    assert as_user(team.outsider).post(revoke).status_code == 404
    assert as_user(team.admin).post(revoke).status_code == 302
    assert not Invitation.objects.exists()
    assert as_user(team.admin).post(revoke).status_code == 404


def test_it_refuses_a_sign_up_from_an_invitation_with_another_address(team: Team) -> None:
    invite(as_user(team.owner), team, "newcomer@example.com")
    link = link_in(sent_mail()[0])
    sent_mail().clear()

    client = Client()
    client.get(link)
    signup = client.post(
        f"/accounts/signup/?next={link}",
        {"email": "intruder@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signup.status_code == 200
    assert (
        "This sign-up comes from the invitation for newcomer@example.com: use that address."
        in signup.content.decode()
    )
    assert not User.objects.filter(email__in=["intruder@example.com"]).exists()
    assert not EmailAddress.objects.filter(email="newcomer@example.com").exists()
    assert client.post(link).status_code != 302
    assert (
        not Membership.objects.filter(account=team.shop.account, role="viewer")
        .exclude(user=team.viewer)
        .exists()
    )


def test_it_forgets_the_address_of_a_withdrawn_invitation(team: Team) -> None:
    invite(as_user(team.owner), team, "newcomer@example.com")
    link = link_in(sent_mail()[0])
    sent_mail().clear()

    client = Client()
    client.get(link)
    Invitation.objects.all().delete()  # withdrawn by an admin meanwhile
    # An ordinary sign-up again, which names its own account.
    assert 'name="account_name"' in client.get("/accounts/signup/").content.decode()
    signup = client.post(
        "/accounts/signup/",
        {
            "email": "newcomer@example.com",
            "account_name": "Newcomer's shop",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert signup.status_code == 302
    # No longer proven by the invitation: the address must be confirmed by mail.
    address = EmailAddress.objects.get(email="newcomer@example.com")
    assert not address.verified
    assert [m.to for m in sent_mail()] == [["newcomer@example.com"]]
    assert "account_verified_email" not in {k for k, v in client.session.items() if v}


def test_it_mails_an_address_one_invitation_per_cooldown(team: Team, settings: Any) -> None:
    settings.MAIL_ADDRESS_COOLDOWN_SECONDS = 600
    address = f"again-{team.owner.pk}@example.com"  # counters outlive a test in a shared Redis
    client = as_user(team.owner)
    assert invite(client, team, address).status_code == 302
    again = invite(client, team, address)
    assert again.status_code == 400
    assert (
        f"An invitation was mailed to {address} a few minutes ago; try again later."
        in again.content.decode()
    )
    assert len(sent_mail()) == 1


def test_it_caps_the_invitations_a_member_sends_in_a_day(team: Team, settings: Any) -> None:
    settings.INVITATION_MAILS_PER_DAY = 1
    client = as_user(team.owner)
    assert invite(client, team, "first@example.com").status_code == 302
    refused = invite(client, team, "second@example.com")
    assert refused.status_code == 400
    assert "You have sent 1 invitations today, the most allowed in a day" in (
        refused.content.decode()
    )
    assert [m.to for m in sent_mail()] == [["first@example.com"]]
    assert not Invitation.objects.filter(email="second@example.com").exists()
