"""`orderreport rebuild-tallies [--project ID ...]`: recompute the report tallies from the rows.

For repairs (a restore of part of a database, rows changed by hand in SQL): the reports read
tallies, never the orders themselves, so a row changed behind the app's back shows only
after this. Tracking waits while it runs (see orders/tallies.rebuild).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderreport.events import tallies as event_tallies
from orderreport.orders import tallies as order_tallies
from orderreport.projects.models import Project


class Command(BaseCommand):
    help = "Recompute the reports' tallies of some projects (default: all) from their orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, action="append", dest="projects")

    def handle(self, *args: Any, projects: list[int] | None, **options: Any) -> None:
        if projects:
            missing = set(projects) - set(
                Project.objects.filter(pk__in=projects).values_list("pk", flat=True)
            )
            if missing:
                raise CommandError(f"No project with id {', '.join(map(str, sorted(missing)))}.")
        orders = order_tallies.rebuild(projects)
        records = event_tallies.rebuild(projects)
        self.stdout.write(f"tallies rebuilt from {orders} orders and {records} event records")
