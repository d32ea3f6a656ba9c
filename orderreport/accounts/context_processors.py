"""What every dashboard page's frame shows: the user's accounts, the current one, and the
usage banner. Computed at most once per request, and only when a template asks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from orderreport.accounts.models import Membership, User
from orderreport.accounts.services import UsageSummary, held_lines, usage_summaries

SESSION_ACCOUNT = "current_account"
# Held orders the banner names; the plan page lists them all.
BANNER_HELD = 3


@dataclass
class Frame:
    memberships: list[Membership]
    current: Membership | None
    # Accounts at 80% or more of their limit or with held orders, for the banner across the app.
    alerts: list[UsageSummary] = field(default_factory=list)


def current_account_id(request: HttpRequest, account_ids: list[int]) -> int | None:
    """The account a page is about: its URL, the project in its URL, else the last one seen."""
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    candidates: list[Any] = [kwargs.get("account_id")]
    if kwargs.get("project_id") is not None:
        from orderreport.projects.models import Project

        candidates.append(
            Project.objects.filter(pk=kwargs["project_id"], account_id__in=account_ids)
            .values_list("account_id", flat=True)
            .first()
        )
    candidates.append(request.session.get(SESSION_ACCOUNT))
    for candidate in candidates:
        if candidate is not None and int(candidate) in account_ids:
            return int(candidate)
    return account_ids[0] if account_ids else None


def build_frame(request: HttpRequest) -> Frame:
    memberships = sorted(
        Membership.objects.filter(user=cast(User, request.user)).select_related("account__plan"),
        # The user's own account first, then the others by name.
        key=lambda m: (m.role != Membership.Role.OWNER, m.account.name.lower(), m.account_id),
    )
    current_id = current_account_id(request, [m.account_id for m in memberships])
    current = next((m for m in memberships if m.account_id == current_id), None)
    limited = [m.account for m in memberships if m.account.plan.monthly_order_limit is not None]
    # Held orders are news even once the period has room again: they wait for a larger plan.
    alerts = [
        replace(summary, held_preview=tuple(held_lines(summary.account, BANNER_HELD)))
        if summary.held
        else summary
        for summary in usage_summaries(limited)
        if summary.level or summary.held
    ]
    return Frame(memberships=memberships, current=current, alerts=alerts)


def frame(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"frame": SimpleLazyObject(lambda: build_frame(request))}
