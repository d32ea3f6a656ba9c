"""Account actions shared by the dashboard, the command line and the tests."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from orderreport.accounts.models import Account, Membership, Plan, Usage, User


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


def set_plan(account: Account, plan: Plan) -> None:
    account.plan = plan
    account.save(update_fields=["plan"])


def orders_used(account: Account) -> int:
    """Orders counted against the plan in the current billing period."""
    start, _end = account.current_period()
    usage = Usage.objects.filter(account=account, period_start=start).first()
    return usage.used if usage else 0
