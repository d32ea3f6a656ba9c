"""E-mail: HTML and plain text through Django's mail (SMTP settings from the environment)."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string

from orderreport.notify.config import EmailConfig
from orderreport.notify.messages import Message, build_message
from orderreport.notify.models import Delivery
from orderreport.notify.outbox import account_of
from orderreport.notify.transports import TransportError


def recipients(delivery: Delivery) -> list[str]:
    if delivery.channel is None:  # a plan-limit warning for the account owner
        return [account_of(delivery).owner.email]
    config = delivery.channel.settings
    assert isinstance(config, EmailConfig)
    return config.recipients


def render(message: Message) -> tuple[str, str, str]:
    """(subject, plain text, HTML); the HTML template autoescapes every value."""
    context = {"message": message}
    text = render_to_string("notify/email/message.txt", context)
    html = render_to_string("notify/email/message.html", context)
    # Customer strings end up in the subject; a line break there would be a header injection
    # (Django refuses it), so all whitespace becomes single spaces.
    return " ".join(message.subject.split())[:200], text, html


def send_mail(to: list[str], subject: str, text: str, html: str) -> None:
    """Send one message; SMTP's own answer decides whether a retry can help."""
    mail = EmailMultiAlternatives(subject, text, to=to)
    mail.attach_alternative(html, "text/html")
    send_message(mail)


def send_message(mail: EmailMessage) -> None:
    """Send a built message through Django's mail connection, as TransportError(permanent=…)
    when it fails: a 5xx answer is permanent, anything else (4xx, no answer) may pass."""
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        permanent = all(code >= 500 for code in codes)
        raise TransportError(
            f"SMTP refused the recipients: {', '.join(sorted(exc.recipients))}",
            permanent=permanent,
        ) from None
    except smtplib.SMTPResponseException as exc:
        message = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise TransportError(
            f"SMTP {exc.smtp_code} {message}"[:500], permanent=exc.smtp_code >= 500
        ) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"SMTP server unreachable: {type(exc).__name__} {exc}"[:500]) from None


def send(delivery: Delivery) -> None:
    to = recipients(delivery)
    if not to:
        raise TransportError(
            "No confirmed address: follow the link in the confirmation e-mail first",
            permanent=True,
        )
    subject, text, html = render(build_message(delivery))
    send_mail(to, subject, text, html)
