"""`orderreport rotate-secrets`: re-encrypt every stored channel secret with the first key.

The rotation (docs/operations.md): put a new key in front of SECRETS_KEYS, keep the old one
after it, restart, run this until it reports nothing re-encrypted, then drop the old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orderreport.notify import crypto
from orderreport.notify.config import SECRET_FIELDS
from orderreport.notify.models import Channel


class Command(BaseCommand):
    help = "Re-encrypt every channel secret (bot tokens, webhook secrets) with the first key."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = current = 0
        unreadable: list[int] = []
        ids = Channel.objects.filter(kind__in=SECRET_FIELDS).order_by("pk")
        for pk in ids.values_list("pk", flat=True).iterator():
            # One row at a time under its lock: a save from the dashboard (a new token, a
            # new secret) meanwhile is neither lost nor overwritten with the old value.
            with transaction.atomic():
                channel = Channel.objects.select_for_update().filter(pk=pk).first()
                if channel is None:
                    continue  # deleted meanwhile
                name = SECRET_FIELDS[channel.kind]
                value = channel.config.get(name)
                if not isinstance(value, str):
                    continue
                try:
                    resealed = crypto.reseal(value)
                except crypto.SecretUnreadable:
                    unreadable.append(channel.pk)
                    continue
                if resealed is None:
                    current += 1
                    continue
                channel.config = {**channel.config, name: resealed}
                channel.save(update_fields=["config"])
                changed += 1
        self.stdout.write(
            f"{changed} secrets re-encrypted with the first key, {current} already were."
        )
        if unreadable:
            # The secrets themselves are never printed, only which channels to look at.
            raise CommandError(
                f"{len(unreadable)} secrets could not be decrypted with any of SECRETS_KEYS "
                f"(channels {', '.join(map(str, unreadable))}); keep the old key until they "
                "are re-entered, or put back the key they were encrypted with."
            )
