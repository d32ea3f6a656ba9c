"""Channel actions shared by the dashboard and the tests: create, change, confirm, rotate."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orderreport.accounts.models import Membership
from orderreport.notify.config import (
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


def send_confirmations(channel: Channel, language: str) -> list[str]:
    """Mail a confirmation link to each address not yet confirmed; returns them."""
    from orderreport.notify.transports.email import send_mail

    config = channel.settings
    assert isinstance(config, EmailConfig)
    pending = [a for a in config.addresses if a not in config.confirmed]
    with translation.override(language):
        for address in pending:
            link = settings.BASE_URL + reverse(
                "notify:confirm-email", args=[confirmation_token(channel, address)]
            )
            context = {"link": link, "project": channel.project.name, "address": address}
            text = render_to_string("notify/email/confirm.txt", context)
            html = render_to_string("notify/email/confirm.html", context)
            send_mail([address], _("Confirm notifications from OrderReport"), text, html)
    return pending


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


def rotate_webhook_secret(channel: Channel) -> str:
    """Give a webhook a new signing secret; returned once, for the owner to copy."""
    config = channel.settings
    assert isinstance(config, WebhookConfig)
    secret = generate_webhook_secret()
    channel.config = dump_config(config.model_copy(update={"secret": secret}))
    channel.save(update_fields=["config"])
    return secret


def set_active(channel: Channel, active: bool) -> None:
    """Switch a channel on or off; switching on forgets why it was switched off."""
    channel.is_active = active
    if active:
        channel.disabled_reason = ""
        channel.failures_in_a_row = 0
    channel.save(update_fields=["is_active", "disabled_reason", "failures_in_a_row"])
