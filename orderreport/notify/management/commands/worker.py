"""`orderreport worker`: deliver notifications from the outbox until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orderreport.notify.worker import Worker


class Command(BaseCommand):
    help = "Send queued notifications (Telegram, e-mail, webhooks), retrying failures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="Exit once nothing is due instead of waiting for more.",
        )
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--poll-seconds", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(batch_size=options["batch_size"], poll_seconds=options["poll_seconds"])

        def stop(signum: int, frame: object) -> None:
            # Finish the send in progress, give back the rest of the batch, then exit.
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        worker.run(until_idle=options["until_idle"])
        self.stdout.write(f"worker stopped after sending {worker.sent}")
