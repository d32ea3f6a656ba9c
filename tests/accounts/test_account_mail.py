"""Mail to people goes through the database queue (accounts/mail.py): sign-up, password reset,
invitations and channel confirmations answer at once whatever the SMTP server does, and the
worker sends the mail when the server is back (notify/account_mail.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from orderreport.accounts.mail import queue_mail
from orderreport.accounts.models import Invitation, QueuedMail
from orderreport.notify import account_mail
from orderreport.notify.worker import Worker
from tests.conftest import Shop, Team
from tests.mail import sent_mail
from tests.notify.conftest import spawned
from tests.notify.servers import Mailbox, free_port, parts_of

pytestmark = pytest.mark.django_db
PASSWORD = "a long and unusual passphrase 42"


@dataclass
class Greylisting(Mailbox):
    """An SMTP server that answers 451 (try again later) to every recipient while busy."""

    busy: bool = True

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.busy:
            return "451 4.7.1 Greylisted, try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


@dataclass
class SlowMailbox(Mailbox):
    """Takes 10 ms a message, so a run outlasts a worker's start-up and both really work side
    by side."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def point_smtp_at(settings: Any, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2


@contextmanager
def smtp_server(port: int, mailbox: Mailbox) -> Iterator[Mailbox]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def dead_smtp(settings: Any) -> int:
    """Mail goes to a port nobody listens on; returns the port, for a server to start later."""
    port = free_port()
    point_smtp_at(settings, port)
    return port


def only_mail() -> QueuedMail:
    (mail,) = QueuedMail.objects.all()
    return mail


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://[^/\s]+({path}\S+/)", text)
    assert match, text
    return match.group(1)


def test_it_signs_up_while_the_smtp_server_is_down(client: Any, dead_smtp: int) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": "smtp.down@example.com",
            "account_name": "New Shop",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    queued = only_mail()
    assert queued.to == "smtp.down@example.com"

    sent_mail()  # the worker tries, the server is down: kept for later
    queued.refresh_from_db()
    assert queued.status == QueuedMail.Status.PENDING
    assert "SMTP server unreachable" in queued.last_error

    with smtp_server(dead_smtp, Mailbox()) as mailbox:
        sent_mail(queued.next_attempt_at)
    (message,) = mailbox.messages
    assert message["To"] == "smtp.down@example.com"
    link = link_in(parts_of(message)["text/plain"], "/accounts/confirm-email/")
    assert client.post(link).status_code == 302
    assert client.get("/accounts/2fa/").status_code == 200  # confirmed and logged in
    queued.refresh_from_db()
    assert queued.status == QueuedMail.Status.SENT


def test_it_mails_a_reset_link_once_the_server_stops_answering_451(
    client: Any, shop: Shop, settings: Any
) -> None:
    port = free_port()
    point_smtp_at(settings, port)
    with smtp_server(port, Greylisting()) as mailbox:
        response = client.post("/accounts/password/reset/", {"email": shop.user.email})
        assert response.status_code == 302
        sent_mail()
        queued = only_mail()
        assert queued.status == QueuedMail.Status.PENDING
        assert "refused" in queued.last_error  # a 451: kept for another try
        assert mailbox.messages == []

        mailbox.busy = False
        sent_mail(queued.next_attempt_at)
    (message,) = mailbox.messages
    assert mailbox.envelopes[0].rcpt_tos == [shop.user.email]
    form_url = client.get(link_in(parts_of(message)["text/plain"], "/accounts/password/reset/key/"))
    new = "another long passphrase 77"
    assert (
        client.post(form_url["Location"], {"password1": new, "password2": new}).status_code == 302
    )
    shop.user.refresh_from_db()
    assert shop.user.check_password(new)


def test_it_invites_while_the_smtp_server_hangs(team: Team, settings: Any) -> None:
    # A server that takes the connection and never says hello.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        point_smtp_at(settings, hung.getsockname()[1])
        settings.EMAIL_TIMEOUT = 1
        client = Client()
        client.force_login(team.owner)
        response = client.post(
            f"/a/{team.shop.account.pk}/members/invite/",
            {"email": "colleague@example.com", "role": "viewer"},
        )
        assert response.status_code == 302
        invitation = Invitation.objects.get(email="colleague@example.com")
        queued = only_mail()
        assert queued.to == "colleague@example.com"
        assert f"/invitations/{invitation.token}/" in queued.text

        sent_mail()
        queued.refresh_from_db()
        assert queued.status == QueuedMail.Status.PENDING
        assert "SMTP server unreachable" in queued.last_error


def test_it_confirms_channel_addresses_while_the_smtp_server_is_down(
    client: Any, team: Team, dead_smtp: int
) -> None:
    client.force_login(team.owner)
    page = client.post(
        f"/projects/{team.shop.project.pk}/notifications/add/email/",
        {"name": "Team", "addresses": "sales@example.com", "receives_orders": "on"},
        follow=True,
    ).content.decode()
    assert "A confirmation link is on its way to: sales@example.com" in page
    assert "Could not send the confirmation e-mail" not in page
    assert only_mail().to == "sales@example.com"

    with smtp_server(dead_smtp, Mailbox()) as mailbox:
        sent_mail(timezone.now() + dt.timedelta(minutes=5))
    (message,) = mailbox.messages
    assert "/notifications/confirm/" in parts_of(message)["text/plain"]
    assert "/notifications/confirm/" in parts_of(message)["text/html"]


def test_it_gives_up_when_the_server_refuses_the_address(
    client: Any, shop: Shop, settings: Any
) -> None:
    port = free_port()
    point_smtp_at(settings, port)
    box = Mailbox(refuse={shop.user.email})
    with smtp_server(port, box) as mailbox:
        client.post("/accounts/password/reset/", {"email": shop.user.email})
        sent_mail()
        queued = only_mail()
        assert queued.status == QueuedMail.Status.FAILED
        assert shop.user.email in queued.last_error
        sent_mail(timezone.now() + dt.timedelta(hours=3))  # not tried again
    queued.refresh_from_db()
    assert queued.attempts == 1
    assert mailbox.messages == []


def test_it_gives_up_on_a_temporary_failure_after_the_retry_window(
    dead_smtp: int, settings: Any
) -> None:
    settings.NOTIFY_RETRY_HOURS = 24
    queued = queue_mail("someone@example.com", "Hello", "Text")
    when = timezone.now()
    for _attempt in range(30):
        sent_mail(when)
        queued.refresh_from_db()
        if queued.status != QueuedMail.Status.PENDING:
            break
        when = queued.next_attempt_at
    assert queued.status == QueuedMail.Status.FAILED
    assert 10 < queued.attempts < 30


def test_it_claims_a_mail_for_one_worker_until_its_lease_ends(settings: Any) -> None:
    settings.NOTIFY_LEASE_SECONDS = 300
    queued = queue_mail("someone@example.com", "Hello", "Text")
    now = timezone.now()
    assert account_mail.claim(now, "first", 10) == [queued.pk]
    assert account_mail.claim(now + dt.timedelta(seconds=299), "second", 10) == []
    assert not account_mail.renew(queued.pk, "second", now)
    assert account_mail.claim(now + dt.timedelta(seconds=300), "second", 10) == [queued.pk]
    # The first worker lost it: its late send is not recorded over the second one's claim.
    assert not account_mail.renew(queued.pk, "first", now)


def test_it_prints_mail_to_the_console_without_a_mail_server(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    queue_mail("someone@example.com", "Confirm your address", "Follow https://example.com/x/")
    Worker().run_once()
    out = capsys.readouterr().out
    assert "Subject: Confirm your address" in out
    assert "https://example.com/x/" in out


def test_it_deletes_finished_mail_a_while_after_it_was_queued(settings: Any) -> None:
    settings.MAIL_KEEP_HOURS = 24
    old = timezone.now() - dt.timedelta(hours=25)
    for status in ("sent", "failed", "pending"):
        queue_mail(f"{status}@example.com", "Reset", "secret link")
        QueuedMail.objects.filter(to=f"{status}@example.com").update(
            status=status, created=old, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
        )
    recent = queue_mail("recent@example.com", "Reset", "secret link")
    QueuedMail.objects.filter(pk=recent.pk).update(status="sent")
    Worker().run(until_idle=True)  # its hourly prune runs first
    left = sorted(QueuedMail.objects.values_list("to", flat=True))
    assert left == ["pending@example.com", "recent@example.com"]


# --- Separate worker processes (PostgreSQL: they must share the test database) -------------


def _worker_env(port: int) -> dict[str, str]:
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "EMAIL_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "NOTIFY_POLL_SECONDS": "0.05",
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_sends_each_mail_once_with_two_workers() -> None:
    port = free_port()
    now = timezone.now()
    QueuedMail.objects.bulk_create(
        QueuedMail(
            to=f"person{i}@example.com", subject="Hi", text="T", next_attempt_at=now, created=now
        )
        for i in range(300)
    )
    with smtp_server(port, SlowMailbox()) as mailbox:
        workers = [
            spawned(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "orderreport",
                        "worker",
                        "--until-idle",
                        "--batch-size",
                        "5",
                    ],
                    env=_worker_env(port),
                    cwd=django_settings.ROOT_DIR,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.wait(timeout=300)
    outputs = [w.stdout.read().decode() for w in workers if w.stdout]
    assert [w.returncode for w in workers] == [0, 0], outputs
    recipients = [to for envelope in mailbox.envelopes for to in envelope.rcpt_tos]
    assert sorted(recipients) == sorted(f"person{i}@example.com" for i in range(300))
    assert QueuedMail.objects.filter(status="sent").count() == 300
    # Both took part: the work was shared, not serialised behind one lock.
    assert all("sending 0\n" not in out for out in outputs), outputs
