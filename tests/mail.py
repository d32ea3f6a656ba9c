"""Account mail in tests: queued by the request, sent by the worker (accounts/mail.py)."""

from __future__ import annotations

import datetime as dt

from django.core import mail
from django.core.mail import EmailMessage

from orderreport.notify.worker import Worker


def sent_mail(now: dt.datetime | None = None) -> list[EmailMessage]:
    """Everything sent so far (Django's test outbox), once the worker has sent what is due at
    `now` (default: the real time), as the worker beside the web server does within a
    second."""
    worker = Worker(batch_size=50)
    while worker.run_once(now):
        pass
    return mail.outbox
