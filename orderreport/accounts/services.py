"""Account actions shared by the dashboard, the command line and the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orderreport.accounts import mail_limits
from orderreport.accounts.mail import queue_mail
from orderreport.accounts.models import (
    Account,
    HeldOrder,
    Invitation,
    Membership,
    Plan,
    Usage,
    User,
)
from orderreport.accounts.signals import member_removed

Role = Membership.Role
# Shares of the limit at which the app warns: first a warning, then "full".
WARN_AT = 0.8


class UnknownPlan(ValueError):
    pass


def get_plan(name: str) -> Plan:
    try:
        return Plan.objects.get(name=name)
    except Plan.DoesNotExist:
        names = ", ".join(Plan.objects.values_list("name", flat=True))
        raise UnknownPlan(f"No plan named {name!r}; plans are: {names}") from None


@transaction.atomic
def create_account(owner: User, name: str, plan: Plan | None = None) -> Account:
    """Create a tenant owned by `owner`, on DEFAULT_PLAN unless a plan is given."""
    account = Account.objects.create(
        name=name, owner=owner, plan=plan or get_plan(settings.DEFAULT_PLAN)
    )
    Membership.objects.create(account=account, user=owner, role=Membership.Role.OWNER)
    return account


@transaction.atomic
def set_plan(account: Account, plan: Plan) -> int:
    """Move the account to `plan`; returns how many held orders that released.

    The one way a plan changes (the `set-plan` command, the admin, a billing hook): with more
    room, held orders are recorded in arrival order (ingest/held.py), in this transaction.
    """
    from orderreport.accounts.signals import plan_changed

    account.plan = plan
    account.save(update_fields=["plan"])
    answers = plan_changed.send(sender=Account, account=account)
    released: Any = [n for _receiver, n in answers]
    return sum(n for n in released if isinstance(n, int))


def held_orders(account: Account) -> QuerySet[HeldOrder]:
    """The account's held orders that can still be released, in arrival order."""
    return HeldOrder.objects.filter(account=account, expires_at__gt=timezone.now()).order_by(
        "received_at", "id"
    )


@dataclass(frozen=True)
class HeldLine:
    """A held order as the plan page and the banner show it."""

    external_id: str
    project: str
    total: str  # format_money, in the reader's language
    received_at: dt.datetime
    zone: str  # the project's time zone: the time is shown in it


def held_lines(account: Account, limit: int = 50) -> list[HeldLine]:
    """The first `limit` held orders of the account, in arrival order, ready to show."""
    from orderreport.money import format_money

    language = translation.get_language() or "en"
    rows = (
        held_orders(account)
        .select_related(None)
        .values_list(
            "external_id", "project__name", "total", "currency", "received_at", "project__timezone"
        )[:limit]
    )
    return [
        HeldLine(external_id, project, format_money(total, currency, language), at, zone)
        for external_id, project, total, currency, at, zone in rows
    ]


def held_counts(accounts: Iterable[Account]) -> dict[int, int]:
    """How many releasable held orders each account has (accounts without any: absent)."""
    ids = [account.pk for account in accounts]
    if not ids:
        return {}
    counts = (
        HeldOrder.objects.filter(account_id__in=ids, expires_at__gt=timezone.now())
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    return dict(counts)


def prune_held_orders(now: dt.datetime, chunk: int = 1000) -> int:
    """Delete held orders whose time is up (their period's end plus HELD_ORDER_DAYS)."""
    deleted = 0
    while True:
        expired = HeldOrder.objects.filter(expires_at__lte=now)
        ids = list(expired.values_list("pk", flat=True)[:chunk])
        if not ids:
            return deleted
        HeldOrder.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def orders_used(account: Account) -> int:
    """Orders counted against the plan in the current billing period."""
    start, _end = account.current_period()
    usage = Usage.objects.filter(account=account, period_start=start).first()
    return usage.used if usage else 0


@dataclass(frozen=True)
class UsageSummary:
    """Orders used of the plan's limit in the current billing period."""

    account: Account
    used: int
    limit: int | None
    period_start: dt.date
    period_end: dt.date  # the first day of the next period: the day the counter resets
    held: int = 0  # orders refused for the limit and kept for a release (accounts.HeldOrder)
    # The first few of them, for the banner (filled by the page frame only).
    held_preview: tuple[HeldLine, ...] = ()

    @property
    def percent(self) -> int:
        """Share of the limit used, 0-100 (capped: the API refuses orders over the limit)."""
        if not self.limit:
            return 0
        return min(100, self.used * 100 // self.limit)

    @property
    def level(self) -> str:
        """ "full", "warn" (80% or more) or "" for an account with room or no limit."""
        if self.limit is None:
            return ""
        if self.used >= self.limit:
            return "full"
        if self.used >= self.limit * WARN_AT:
            return "warn"
        return ""


def usage_summaries(accounts: Iterable[Account]) -> list[UsageSummary]:
    """Usage of several accounts in their current periods, in one query."""
    accounts = list(accounts)
    today = timezone.now().date()
    periods = {account.pk: account.current_period(today) for account in accounts}
    used: dict[int, int] = {}
    if accounts:
        match = Q()
        for account_id, (start, _end) in periods.items():
            match |= Q(account_id=account_id, period_start=start)
        used = dict(Usage.objects.filter(match).values_list("account_id", "used"))
    held = held_counts(accounts)
    return [
        UsageSummary(
            account=account,
            used=used.get(account.pk, 0),
            limit=account.plan.monthly_order_limit,
            period_start=periods[account.pk][0],
            period_end=periods[account.pk][1],
            held=held.get(account.pk, 0),
        )
        for account in accounts
    ]


def usage_summary(account: Account) -> UsageSummary:
    return usage_summaries([account])[0]


# --- Members and invitations ------------------------------------------------------------------


class MembershipError(ValueError):
    """A member or invitation change that cannot be made; the message is shown to the user."""


INVITABLE_ROLES = (Role.ADMIN, Role.VIEWER)


def _check_role(role: str) -> Role:
    if role not in INVITABLE_ROLES:
        raise MembershipError(_("Choose admin or viewer."))
    return Role(role)


def invite_member(account: Account, email: str, role: str, invited_by: User) -> Invitation:
    """Create (or renew) the open invitation of `email` to `account` and queue its mail."""
    email = email.strip().lower()
    role = _check_role(role)
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise MembershipError(_("%(email)s is already a member.") % {"email": email})
    verdict = mail_limits.take("invitation", invited_by.pk, email)
    if verdict is mail_limits.Verdict.COOLDOWN:
        raise MembershipError(
            _("An invitation was mailed to %(email)s a few minutes ago; try again later.")
            % {"email": email}
        )
    if verdict is mail_limits.Verdict.CAPPED:
        raise MembershipError(
            _(
                "You have sent %(count)s invitations today, the most allowed in a day; "
                "try again tomorrow."
            )
            % {"count": settings.INVITATION_MAILS_PER_DAY}
        )
    with transaction.atomic():
        # Inviting again replaces the open invitation: a fresh link and a fresh expiry.
        Invitation.objects.filter(account=account, email=email, accepted__isnull=True).delete()
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            invited_by=invited_by,
            expires=timezone.now() + dt.timedelta(days=settings.INVITATION_DAYS),
        )
        # Queued in this transaction: sent by the worker, never by the request (accounts/mail.py).
        send_invitation(invitation, translation.get_language())
    return invitation


def invitation_url(invitation: Invitation) -> str:
    return settings.BASE_URL + reverse("accounts:invitation", args=[invitation.token])


def send_invitation(invitation: Invitation, language: str | None = None) -> None:
    """Queue the invitation link's mail, in the inviter's language."""
    context = {
        "invitation": invitation,
        "url": invitation_url(invitation),
        "inviter": invitation.invited_by,
        "account": invitation.account,
    }
    with translation.override(language):
        subject = render_to_string("accounts/email/invitation_subject.txt", context)
        body = render_to_string("accounts/email/invitation_message.txt", context)
    queue_mail(invitation.email, subject, body)


def user_has_email(user: User, email: str) -> bool:
    """Whether `email` is the user's address or one they confirmed."""
    from allauth.account.models import EmailAddress

    email = email.lower()
    if user.email.lower() == email:
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def accept_invitation(token: str, user: User) -> Membership:
    """Make `user` a member with the invited role; the invitation is used up."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("account")
            .filter(token=token)
            .first()
        )
        if invitation is None or invitation.accepted is not None:
            raise MembershipError(_("This invitation has been used or withdrawn."))
        if invitation.is_expired:
            raise MembershipError(_("This invitation has expired. Ask for a new one."))
        if not user_has_email(user, invitation.email):
            raise MembershipError(
                _("This invitation was sent to %(email)s. Log in with that address to accept it.")
                % {"email": invitation.email}
            )
        membership, _created = Membership.objects.get_or_create(
            account=invitation.account, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted = timezone.now()
        invitation.save(update_fields=["accepted"])
    return membership


def change_role(membership: Membership, role: str) -> None:
    if membership.role == Role.OWNER:
        raise MembershipError(_("The owner's role cannot be changed."))
    membership.role = _check_role(role)
    membership.save(update_fields=["role"])


def remove_member(membership: Membership) -> None:
    """Remove a member; channels that mail their address are switched off (member_removed)."""
    if membership.role == Role.OWNER:
        raise MembershipError(_("The owner cannot be removed."))
    with transaction.atomic():
        membership.delete()
        member_removed.send(
            sender=Membership, account=membership.account, email=membership.user.email
        )


def open_invitation(token: str) -> Invitation | None:
    """The invitation behind `token` if it can still be accepted (not used, withdrawn, expired)."""
    found = Invitation.objects.filter(token=token, accepted__isnull=True).first()
    if found is None or found.is_expired:
        return None
    return found


@transaction.atomic
def delete_account(account: Account) -> bool:
    """Delete a tenant with its projects (their domains, keys, events, orders and records),
    memberships, usage and invitations. The owner's login goes too when it belongs to no other
    account, since it could do nothing any more. Returns whether the login was deleted."""
    owner = account.owner
    # The cascade deletes each ApiKey through the collector, whose post_delete signal drops it
    # from the tracking API's cache: the shop's next request gets 401.
    account.delete()
    if Membership.objects.filter(user=owner).exists() or owner.owned_accounts.exists():
        return False
    owner.delete()
    return True


def login_goes_with(account: Account) -> bool:
    """Whether deleting this account would delete its owner's login (see delete_account)."""
    return not Membership.objects.filter(user_id=account.owner_id).exclude(account=account).exists()
