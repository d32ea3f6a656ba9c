"""Orders as the tracking API accepted them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from orderreport.projects.models import Project


class Status(models.TextChoices):
    """Where an order is in its life. Every order starts as `new` (on track)."""

    NEW = "new", _("New")
    CONFIRMED = "confirmed", _("Confirmed")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    # No index of its own: the unique (project, id) index below starts with the project and
    # serves every lookup by project; a second one costs every insert and can mislead the
    # planner into scanning a project's orders to find one id.
    project = models.ForeignKey(Project, models.CASCADE, related_name="orders", db_index=False)
    # The shop's own id, unique inside the project (the guide's `id`).
    external_id = models.CharField(_("order id"), max_length=128)
    total = models.BigIntegerField(_("total"), help_text=_("In minor units of the currency."))
    currency = models.CharField(_("currency"), max_length=3)
    username = models.CharField(_("customer"), max_length=255, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    # Products and data pairs are stored as validated, in one row: an order is written and
    # read whole, and one INSERT keeps the hot path to a single statement.
    products = models.JSONField(_("products"), default=list, blank=True)
    data = models.JSONField(_("data"), default=list, blank=True)
    origin = models.CharField(_("origin"), max_length=2100, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("User-Agent"), max_length=512, blank=True)
    received_at = models.DateTimeField(_("received"), db_index=False)
    # The random tag of the request that stored it: a retry after a lost connection knows
    # its own order by it (ingest/writer.py). Not indexed: looked up by (project, id).
    ingest_tag = models.BigIntegerField(null=True, blank=True, editable=False)
    # The write side inserts orders with its own SQL that does not name this column: the
    # database default gives them `new` (db_default), the ORM the same (default).
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.NEW,
        db_default=Status.NEW,
    )
    # When the status or a field last changed (dashboard or API); None while as tracked.
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)
    # The integration page's "Send a test order" (projects/testmark.py): stored, listed and
    # notified with a "test" mark, but neither counted against the plan nor in any report
    # or tally. No index: no list or report walks the orders by it.
    is_test = models.BooleanField(_("test"), default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="order_project_id")
        ]
        indexes = [
            # The dashboard lists a project's orders newest first with keyset pagination.
            models.Index(fields=["project", "-received_at", "-id"], name="order_project_recent"),
            # The list filtered by currency: a rare currency must not mean walking every order.
            models.Index(
                fields=["project", "currency", "-received_at", "-id"],
                name="order_project_currency",
            ),
            # The list filtered by status ("everything paid and not yet shipped").
            models.Index(
                fields=["project", "status", "-received_at", "-id"],
                name="order_project_status",
            ),
            # The read API's `updated_since` (ingest/read.py last_change(): the same
            # expression): when an order last changed, or else when it arrived.
            models.Index(
                F("project"),
                Coalesce("updated_at", "received_at"),
                name="order_project_updated",
            ),
            # Text search has a trigram index on PostgreSQL only; see migration 0002.
        ]

    def __str__(self) -> str:
        return self.external_id


class StatusChange(models.Model):
    """One step of an order's history: from which status to which, when, and by whom."""

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", _("Dashboard")
        API = "api", _("API")

    # No index of its own: statuschange_order_time starts with the order.
    order = models.ForeignKey(Order, models.CASCADE, related_name="status_changes", db_index=False)
    from_status = models.CharField(_("from"), max_length=16, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Status.choices)
    changed_at = models.DateTimeField(_("changed"))
    # The member who changed it in the dashboard; None for the API or a member since removed.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)

    class Meta:
        indexes = [
            # An order's history, oldest first, on its page.
            models.Index(fields=["order", "changed_at", "id"], name="statuschange_order_time"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} -> {self.to_status}"


# Statuses whose orders are not business: kept out of revenue, shown apart.
UNCOUNTED = frozenset({Status.CANCELLED, Status.REFUNDED})


class OrderTally(models.Model):
    """Signed running sums of orders per quarter-hour, currency and status (tally.py).

    The write side appends a row per batch; a status change, an update or a delete appends
    the order's old contribution negated and its new one (orders/tallies.py). Reports sum the
    rows of a range; the worker compacts them.
    """

    project = models.ForeignKey(Project, models.CASCADE, related_name="+", db_index=False)
    # The quarter-hour, numbered from the Unix epoch (tally.slot_of).
    slot = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    orders = models.BigIntegerField()
    # numeric: a sum of int64 totals can outgrow int64. SQLite keeps what fits in 64 bits
    # exactly and larger sums as floating point.
    revenue = models.DecimalField(max_digits=40, decimal_places=0)
    items = models.DecimalField(max_digits=40, decimal_places=0)
    compacted = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "slot"], name="ordertally_range"),
            models.Index(
                fields=["id"], name="ordertally_pending", condition=models.Q(compacted=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.slot} {self.currency} {self.status}"


class ProductTally(models.Model):
    """Signed running sums of counted orders' product lines per UTC day, currency and name.

    By day, not quarter-hour: a shop sells hundreds of products, and a period's first and
    last partial UTC days are summed from the orders themselves (reports/figures.py).
    """

    project = models.ForeignKey(Project, models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    name = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=40, decimal_places=0)
    revenue = models.DecimalField(max_digits=40, decimal_places=0)
    compacted = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "day"], name="producttally_range"),
            models.Index(
                fields=["id"], name="producttally_pending", condition=models.Q(compacted=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day} {self.currency} {self.name}"
