"""`orderreport run` (what `make run` calls): everything a laptop needs, in one command.

Applies migrations, collects static files, ensures the demo and prints its credentials, then
runs the web server and the background worker until Ctrl-C. Asks nothing on the terminal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from orderreport.translations import compile_messages


class Command(BaseCommand):
    help = "Migrate, ensure the demo, and serve the web app and the worker until Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        compile_messages()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("demo")
        cli = [sys.executable, "-m", "orderreport"]
        commands = [[*cli, "serve"]]
        if "worker" in get_commands():  # the notification worker, once installed
            commands.append([*cli, "worker"])
        children = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603 - our own CLI
        self.stdout.write(f"\nOrderReport is running at {settings.BASE_URL} (Ctrl-C stops it)\n")

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.args for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            self.stderr.write(f"stopped: {failed} exited with an error")
            sys.exit(1)
