"""Records of events (form submissions, call-back requests...) sent to the tracking API."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderreport.projects.models import Event, Project

# The spam rules' reason codes (ingest/spam.py), in words for the "Spam" filter.
SPAM_REASONS = {
    "honeypot": _("the hidden anti-bot field was filled in"),
    "rate": _("too many posts from one address in a short time"),
    "links": _("too many links"),
    "only_urls": _("nothing but links"),
}


class EventRecord(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="event_records")
    event = models.ForeignKey(Event, models.CASCADE, related_name="records")
    data = models.JSONField(_("data"), default=list, blank=True)
    origin = models.CharField(_("origin"), max_length=2100, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("User-Agent"), max_length=512, blank=True)
    received_at = models.DateTimeField(_("received"))
    # The random tag of the request that stored it: a retry after a lost connection finds
    # its own record by (project, received_at, tag) (ingest/writer.py).
    ingest_tag = models.BigIntegerField(null=True, blank=True, editable=False)
    # Caught by the form endpoints' spam rules (ingest/spam.py): kept and shown under the
    # "Spam" filter, but not counted in reports nor notified until marked "not spam".
    spam = models.BooleanField(_("spam"), default=False, db_default=False)
    spam_reason = models.CharField(
        _("why it looks like spam"), max_length=32, blank=True, default="", db_default=""
    )

    class Meta:
        indexes = [
            models.Index(fields=["project", "-received_at", "-id"], name="record_project_recent"),
            models.Index(fields=["event", "-received_at", "-id"], name="record_event_recent"),
            # The "Spam" filter: a partial index, as small as the spam itself.
            models.Index(
                fields=["project", "-received_at", "-id"],
                name="record_project_spam",
                condition=models.Q(spam=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} at {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def spam_reason_text(self) -> str:
        """Why it was taken for spam, in words (a code this version does not know, as is)."""
        return str(SPAM_REASONS.get(self.spam_reason, self.spam_reason))


class EventTally(models.Model):
    """Signed running counts of event records per quarter-hour and event (tally.py)."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+", db_index=False)
    event = models.ForeignKey(Event, models.CASCADE, related_name="+")
    # The quarter-hour, numbered from the Unix epoch (tally.slot_of).
    slot = models.BigIntegerField()
    records = models.BigIntegerField()
    compacted = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "slot"], name="eventtally_range"),
            models.Index(
                fields=["id"], name="eventtally_pending", condition=models.Q(compacted=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.slot}"
