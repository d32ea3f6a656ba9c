"""Mail to people, queued in the database and sent by the worker.

Sign-up and address confirmations, password resets (allauth, through accounts/adapter.py),
invitations and channel address confirmations are rows of QueuedMail written in the
transaction of what caused them, never SMTP conversations inside a request: the request
answers at once whatever the mail server does, and a request that fails mails nobody. The
worker (notify/account_mail.py) sends them with the notifications' retry schedule and SMTP
error handling.
"""

from __future__ import annotations

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone

from orderreport.accounts.models import QueuedMail


def queue_mail(
    to: str, subject: str, text: str, html: str = "", from_email: str = ""
) -> QueuedMail:
    """Queue one mail to one address, due now; `from_email` "" means DEFAULT_FROM_EMAIL."""
    now = timezone.now()
    return QueuedMail.objects.create(
        to=to,
        from_email=from_email,
        # A line break in a subject would be a header injection (Django refuses to send it),
        # so it would fail at every attempt: all whitespace becomes single spaces here.
        subject=" ".join(subject.split())[:998],
        text=text,
        html=html,
        next_attempt_at=now,
        created=now,
    )


def queue_message(message: EmailMessage) -> list[QueuedMail]:
    """Queue a message built for Django's mail (allauth renders its own): its text, its HTML
    alternative if any, one row per recipient."""
    text, html = str(message.body), ""
    if message.content_subtype == "html":
        text, html = "", text
    if isinstance(message, EmailMultiAlternatives):
        for content, mimetype in message.alternatives:
            if mimetype == "text/html":
                html = str(content)
    from_email = str(message.from_email or "")
    return [queue_mail(to, str(message.subject), text, html, from_email) for to in message.to]
