"""Channel actions shared by the dashboard and the tests: create, change, confirm, rotate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orderreport.accounts import mail_limits
from orderreport.accounts.mail import queue_mail
from orderreport.accounts.models import Account, Membership
from orderreport.notify import crypto
from orderreport.notify.config import (
    SECRET_FIELDS,
    ChannelConfig,
    EmailConfig,
    WebhookConfig,
    dump_config,
    generate_webhook_secret,
)
from orderreport.notify.models import Channel
from orderreport.projects.models import Event, Project

CONFIRM_SALT = "notify.email-confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600


@transaction.atomic
def save_channel(
    project: Project,
    kind: str,
    name: str,
    config: ChannelConfig,
    *,
    receives_orders: bool,
    receives_limits: bool,
    events: Iterable[Event],
    receives_status_changes: bool = False,
    sends_digest: bool = False,
    digest_hour: int = 9,
    channel: Channel | None = None,
) -> Channel:
    """Create a channel, or change one (its kind never changes)."""
    if channel is None:
        channel = Channel(project=project, kind=kind)
    if sends_digest and not channel.sends_digest:
        # Summaries that fell due before this moment are not sent (notify/digest.py).
        channel.digest_since = timezone.now()
    channel.sends_digest = sends_digest
    channel.digest_hour = digest_hour
    channel.name = name
    channel.config = dump_config(config)
    channel.receives_orders = receives_orders
    channel.receives_limits = receives_limits
    channel.receives_status_changes = receives_status_changes
    channel.save()
    channel.events.set([e for e in events if e.project_id == project.pk])
    return channel


def known_addresses(project: Project) -> set[str]:
    """Addresses that need no confirmation: the account's members signed in with them."""
    return {
        email.lower()
        for email in Membership.objects.filter(account_id=project.account_id).values_list(
            "user__email", flat=True
        )
    }


def email_config(
    project: Project, addresses: list[str], old: EmailConfig | None = None
) -> EmailConfig:
    """The config for these addresses, keeping confirmations already made."""
    trusted = known_addresses(project) | set(old.confirmed if old else [])
    lowered = [a.lower() for a in addresses]
    return EmailConfig(addresses=lowered, confirmed=[a for a in lowered if a in trusted])


def confirmation_token(channel: Channel, address: str) -> str:
    return signing.dumps({"c": channel.pk, "a": address}, salt=CONFIRM_SALT, compress=True)


@dataclass
class Confirmations:
    sent: list[str] = field(default_factory=list)
    cooling: list[str] = field(default_factory=list)  # mailed moments ago, not again
    capped: list[str] = field(default_factory=list)  # over the member's daily number


def send_confirmations(
    channel: Channel,
    language: str,
    *,
    user_id: int | None = None,
    skip: Iterable[str] = (),
) -> Confirmations:
    """Queue a confirmation link to each unconfirmed address not in `skip` (those the channel
    had before this save), within the per-address cooldown and the member's daily number."""
    config = channel.settings
    assert isinstance(config, EmailConfig)
    skipped = {a.lower() for a in skip}
    pending = [a for a in config.addresses if a not in config.confirmed and a not in skipped]
    result = Confirmations()
    with translation.override(language):
        for address in pending:
            verdict = mail_limits.take("confirmation", user_id, address)
            if verdict is mail_limits.Verdict.COOLDOWN:
                result.cooling.append(address)
                continue
            if verdict is mail_limits.Verdict.CAPPED:
                result.capped.append(address)
                continue
            link = settings.BASE_URL + reverse(
                "notify:confirm-email", args=[confirmation_token(channel, address)]
            )
            context = {"link": link, "project": channel.project.name, "address": address}
            text = render_to_string("notify/email/confirm.txt", context)
            html = render_to_string("notify/email/confirm.html", context)
            queue_mail(address, _("Confirm notifications from OrderReport"), text, html)
            result.sent.append(address)
    return result


def confirm_email(token: str) -> tuple[Channel, str] | None:
    """Mark the address in a confirmation link as confirmed; None for a bad or old link."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=data.get("c")).first()
        if channel is None or channel.kind != Channel.Kind.EMAIL:
            return None
        config = channel.settings
        assert isinstance(config, EmailConfig)
        address = str(data.get("a", ""))
        if address not in config.addresses:
            return None  # removed from the channel since the link was sent
        if address not in config.confirmed:
            confirmed = EmailConfig(
                addresses=config.addresses, confirmed=[*config.confirmed, address]
            )
            channel.config = dump_config(confirmed)
            channel.save(update_fields=["config"])
    return channel, address


def disable_channels_of_removed_member(account: Account, email: str) -> int:
    """Switch off the account's e-mail channels that deliver to a removed member's address and
    forget its confirmation (membership was what vouched for it); returns how many."""
    email = email.lower()
    switched_off = 0
    channels = Channel.objects.select_for_update().filter(
        project__account=account, kind=Channel.Kind.EMAIL
    )
    for channel in channels:
        config = channel.settings
        assert isinstance(config, EmailConfig)
        if email not in config.addresses:
            continue
        channel.config = dump_config(
            EmailConfig(
                addresses=config.addresses, confirmed=[a for a in config.confirmed if a != email]
            )
        )
        channel.is_active = False
        channel.disabled_reason = _(
            "%(email)s was removed from the account; take the address out or confirm it again."
        ) % {"email": email}
        channel.save(update_fields=["config", "is_active", "disabled_reason"])
        switched_off += 1
    return switched_off


def on_member_removed(sender: object, account: Account, email: str, **kwargs: object) -> None:
    disable_channels_of_removed_member(account, email)


def rotate_webhook_secret(channel: Channel) -> str:
    """Give a webhook a new signing secret; returned once, for the owner to copy."""
    config = channel.settings
    assert isinstance(config, WebhookConfig)
    secret = generate_webhook_secret()
    # A new config, not model_copy: only validation encrypts the secret (config.py).
    channel.config = dump_config(WebhookConfig(url=config.url, secret=secret))
    channel.save(update_fields=["config"])
    return secret


def unreadable_secret(channel: Channel) -> str | None:
    """What the owner must do when the channel's stored secret cannot be decrypted with this
    server's keys (SECRETS_KEYS changed without `rotate-secrets`), else None."""
    field_name = SECRET_FIELDS.get(channel.kind)
    value = channel.config.get(field_name) if field_name else None
    # A plain value (written before migration 0005) still works: reading the config seals it.
    if not isinstance(value, str) or not crypto.is_sealed(value) or crypto.readable(value):
        return None
    if channel.kind == Channel.Kind.TELEGRAM:
        return _(
            "The bot token cannot be decrypted with this server's encryption keys, so nothing "
            "can be sent. Enter the token again under “Change settings”."
        )
    return _(
        "The signing secret cannot be decrypted with this server's encryption keys, so "
        "nothing can be sent. Make a new secret and give it to the receiver."
    )


def set_active(channel: Channel, active: bool) -> None:
    """Switch a channel on or off; switching on forgets why it was switched off."""
    channel.is_active = active
    if active:
        channel.disabled_reason = ""
        channel.failures_in_a_row = 0
    channel.save(update_fields=["is_active", "disabled_reason", "failures_in_a_row"])
