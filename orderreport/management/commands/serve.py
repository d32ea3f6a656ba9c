"""`orderreport serve`: the production web server (granian, several processes)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve the app with granian: N worker processes, persistent DB connections."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_WORKERS", "0")),
            help="processes (default: one per CPU with REDIS_URL, else 1)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("WEB_THREADS", "0")),
            help="Python threads per process: they overlap database and cache round trips "
            "(default: 32)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"] or ((os.cpu_count() or 1) if settings.REDIS_URL else 1)
        if workers > 1 and not settings.REDIS_URL:
            # Without a shared cache each process would keep its own view of API keys and
            # rate limits, and a deactivated key could be accepted by another process.
            raise CommandError("Set REDIS_URL to run more than one web process.")
        # Pages need the hashed static files' manifest; collecting is quick when nothing
        # changed and saves every deployment from a forgotten step.
        call_command("collectstatic", interactive=False, verbosity=0)
        # 32 per process (benchmarks/RESULTS.md): an order's or event's thread mostly waits
        # for its batch's commit (ingest/writer.py), so more threads in flight mean larger
        # batches and fewer transactions; on the two-core reference machine 16 per process
        # gave 0.39-0.41 of the baseline's requests/s for orders on PostgreSQL, 32 gave
        # 0.53-0.56, 48 no more. Order and event threads need no database connection of their
        # own; page threads keep one each.
        threads = options["threads"] or 32
        # Headers are read by granian under this timeout (at most 60 s, its limit), without a
        # Python thread; the body under the app's own deadline (orderreport/slowclients.py).
        read_timeout = settings.REQUEST_READ_TIMEOUT_SECONDS or 30  # 30: granian's default
        header_ms = max(1, min(60_000, round(read_timeout * 1000)))
        env = os.environ.copy()
        env.setdefault("DB_CONN_MAX_AGE", "600")
        env.setdefault("DJANGO_SETTINGS_MODULE", "orderreport.settings")
        argv = [
            sys.executable, "-m", "granian",
            "--interface", "wsgi",
            "--host", options["host"],
            "--port", str(options["port"]),
            "--workers", str(workers),
            "--blocking-threads", str(threads),
            "--no-ws",
            "--http1-header-read-timeout", str(header_ms),
            "--respawn-failed-workers",
            # Static files come from WhiteNoise, not granian's own static route: granian sends
            # no nosniff or HSTS header, and WhiteNoise lets browsers keep hashed names forever.
            "orderreport.wsgi:application",
        ]  # fmt: skip
        self.stdout.write(
            f"Serving on http://{options['host']}:{options['port']} "
            f"({workers} process(es) x {threads} threads)"
        )
        self.stdout.flush()
        os.execve(sys.executable, argv, env)  # noqa: S606 - replaces this process, fixed argv
