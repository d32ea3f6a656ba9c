"""Orders as the tracking API accepted them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderreport.projects.models import Project


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
            # Text search has a trigram index on PostgreSQL only; see migration 0002.
        ]

    def __str__(self) -> str:
        return self.external_id
