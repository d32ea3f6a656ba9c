"""Signals of the events app, for the apps above it (notify queues its deliveries on them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by spam.mark_not_spam inside its transaction, with `record` (the EventRecord now
# admitted): it is notified as if it had just arrived. Events may not import notify (the
# layers in pyproject.toml), so this is how it reaches the outbox, as orders'
# `status_changed` does.
record_admitted = Signal()
