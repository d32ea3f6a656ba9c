"""Notification channels, the outbox of deliveries, and the log of attempts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account
from orderreport.events.models import EventRecord
from orderreport.orders.models import Order, StatusChange
from orderreport.projects.models import Event, Project
from orderreport.queued import Queued

if TYPE_CHECKING:
    from orderreport.notify.config import ChannelConfig


class Channel(models.Model):
    """Where a project's notifications go: a Telegram chat, e-mail addresses or a webhook."""

    class Kind(models.TextChoices):
        TELEGRAM = "telegram", _("Telegram")
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    project = models.ForeignKey(Project, models.CASCADE, related_name="channels")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("on"), default=True)
    receives_orders = models.BooleanField(_("new orders"), default=True)
    receives_limits = models.BooleanField(_("plan-limit warnings"), default=False)
    receives_status_changes = models.BooleanField(_("status changes"), default=False)
    # The daily summary (notify/digest.py): yesterday's figures at this local hour of the
    # project's time zone. `digest_since` is when it was switched on: no summary is due
    # before that moment, so switching it on after the hour starts with tomorrow's.
    sends_digest = models.BooleanField(_("daily summary"), default=False)
    digest_hour = models.PositiveSmallIntegerField(
        _("hour of the daily summary"), default=9, validators=[MaxValueValidator(23)]
    )
    digest_since = models.DateTimeField(null=True, blank=True)
    events = models.ManyToManyField(
        Event, blank=True, related_name="channels", verbose_name=_("records of these events")
    )
    # Validated by orderreport/notify/config.py, one typed model per kind; holds the bot token
    # or webhook secret, so it is never rendered back to anyone nor logged.
    config = models.JSONField(default=dict)
    # Why the channel was switched off by us (a blocked bot, a deleted chat), for the owner.
    disabled_reason = models.CharField(_("switched off because"), max_length=500, blank=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def settings(self) -> ChannelConfig:
        from orderreport.notify.config import parse_config

        return parse_config(self.kind, self.config)

    @property
    def is_failing(self) -> bool:
        return self.failures_in_a_row >= 3


class LimitWarning(models.Model):
    """A plan-limit warning: one per account, billing period and threshold, ever."""

    account = models.ForeignKey(Account, models.CASCADE, related_name="limit_warnings")
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()  # percent of the monthly limit
    used = models.PositiveIntegerField()
    monthly_limit = models.PositiveIntegerField()
    created = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start", "threshold"], name="limitwarning_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period_start} {self.threshold}%"


class Delivery(Queued):
    """One notification to one channel: the outbox row the worker claims and sends."""

    class Topic(models.TextChoices):
        ORDER = "order", _("Order")
        EVENT = "event", _("Event record")
        LIMIT = "limit", _("Plan limit")
        STATUS = "status", _("Status change")
        TEST = "test", _("Test message")
        DIGEST = "digest", _("Daily summary")

    # No channel: a plan-limit warning e-mailed to the account owner.
    # Indexed by delivery_channel_log below, which starts with the channel; a second index
    # on the outbox would only slow down the insert that rides along with every order.
    channel = models.ForeignKey(
        Channel, models.CASCADE, null=True, blank=True, related_name="deliveries", db_index=False
    )
    topic = models.CharField(max_length=8, choices=Topic.choices)
    # No foreign key constraints in the database for what a delivery announces (Django still
    # cascades deletes): PostgreSQL's check of such a constraint locks the referenced table
    # on every insert, even for a NULL, so a long lock on the order table (a migration,
    # VACUUM FULL) would hold up the deliveries of event records too, and vice versa. The
    # write side inserts the row and its deliveries in one statement.
    order = models.ForeignKey(
        Order, models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False
    )
    event_record = models.ForeignKey(
        EventRecord, models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False
    )
    limit_warning = models.ForeignKey(
        LimitWarning,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        db_constraint=False,
    )
    # A status change (topic "status"; `order` is set too), written in the transaction of
    # the step itself (outbox.enqueue_status_change).
    status_change = models.ForeignKey(
        StatusChange,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    # The local day a daily summary covers (topic "digest"; a "send again" copy keeps it).
    digest_day = models.DateField(null=True, blank=True)
    # What may be queued at most once, ever: "digest:<channel>:<day>" for the daily summary.
    # Unique where set, and inserted ignoring conflicts, so workers side by side or a worker
    # restarted at the hour queue one summary, not two. A "send again" copy has none. NULL
    # rather than "" so the write side's own INSERTs (ingest/) need not name the column.
    once_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The worker's only question: which pending deliveries are due. Partial, so it
            # stays as small as the backlog however long the history grows.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["channel", "-created", "-id"], name="delivery_channel_log"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["once_key"],
                name="delivery_once",
                condition=models.Q(once_key__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk} ({self.status})"


class Attempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        RETRY = "retry", _("Failed, will retry")
        FAILED = "failed", _("Failed")

    delivery = models.ForeignKey(Delivery, models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"
