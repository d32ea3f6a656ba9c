"""Signals of the orders app, for the apps above it (notify queues its deliveries on them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by services.change_status inside the transaction that writes the StatusChange, with
# `change` (the new StatusChange) and `order`: receivers that write rows (notify's outbox)
# commit or roll back together with the step. Orders may not import notify (the layers in
# pyproject.toml), so this is how a status change reaches it.
status_changed = Signal()
