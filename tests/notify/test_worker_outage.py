"""The worker with its database out: one line for the outage, not a traceback per poll.

A real `orderreport worker` process, its PostgreSQL behind a loopback proxy that first leaves
every connection unanswered (hung; libpq's connect_timeout ends each try), then passes them
on: the worker logs the outage once and its end once, and sends what was queued meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from orderreport.accounts.mail import queue_mail
from orderreport.accounts.models import QueuedMail
from tests.ingest.tcp_proxy import TcpProxy
from tests.ingest.test_faults_hung import LOG_RECORD
from tests.ingest.test_faults_server import committed

pytestmark = pytest.mark.postgres


def wait_for(what: str, check: object, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@committed
def test_a_worker_logs_a_database_outage_once_and_carries_on_when_it_is_back(
    tmp_path: Path,
) -> None:
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.hang()
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        DB_CONNECT_TIMEOUT_SECONDS="2",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        SECRET_KEY=django_settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "orderreport", "worker", "--poll-seconds", "0.2"],
            env=env,
            cwd=django_settings.ROOT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for("the outage logged", lambda: "unavailable" in log.read_text(), log)
        time.sleep(5)  # two more connect timeouts, a dozen polls' worth
        queue_mail("someone@example.com", "After the outage", "Hello")
        proxy.hang(False)
        wait_for(
            "the queued mail sent",
            lambda: QueuedMail.objects.filter(sent_at__isnull=False).exists(),
            log,
        )
        # Logged once the poll that sent it is over: a moment after the mail's commit.
        wait_for("the recovery logged", lambda: "recovered" in log.read_text(), log)
        records = [line for line in log.read_text().splitlines() if LOG_RECORD.match(line)]
        outage = [line for line in records if "database (notification worker)" in line]
        assert len(outage) == 2, records  # unavailable once, recovered once
        assert "unavailable" in outage[0] and "recovered" in outage[1]
        assert "Traceback" not in log.read_text().split("recovered")[1]
        assert QueuedMail.objects.get().sent_at <= timezone.now()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        proxy.close()
