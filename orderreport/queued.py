"""The fields of an outbox row the worker claims, sends and retries: shared by notifications
(notify.Delivery) and account mail (accounts.QueuedMail), which notify/lease.py leases alike.

A neutral module (no app's models): accounts may not import notify, nor notify accounts'
outbox. Each model keeps its own indexes, named for its table.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Queued(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A worker owns a claimed row until claimed_until; after a crash another takes over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
