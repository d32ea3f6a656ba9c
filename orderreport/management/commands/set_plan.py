"""`orderreport set-plan EMAIL PLAN`: move the account owned by EMAIL to PLAN."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderreport.accounts.models import Account
from orderreport.accounts.services import UnknownPlan, get_plan, set_plan


class Command(BaseCommand):
    help = "Move the account owned by EMAIL to PLAN (free, start, pro, business, unlimited...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("plan")

    def handle(self, *args: Any, email: str, plan: str, **options: Any) -> None:
        try:
            new_plan = get_plan(plan)
        except UnknownPlan as exc:
            raise CommandError(str(exc)) from None
        accounts = list(Account.objects.filter(owner__email__iexact=email.strip()))
        if not accounts:
            raise CommandError(f"No account is owned by {email!r}.")
        for account in accounts:
            released = set_plan(account, new_plan)
            held = f", {released} held orders released" if released else ""
            self.stdout.write(f"{account.name}: now on {new_plan.name}{held}")
