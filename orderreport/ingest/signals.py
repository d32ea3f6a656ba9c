"""Keep the tracking API's key cache in step with the database.

Each change deletes the affected cache entries twice: at once (so this process sees it) and
after the transaction commits (so a request that reloaded the old rows in between cannot
leave them cached).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from orderreport.accounts.models import Account
from orderreport.accounts.signals import plan_changed
from orderreport.ingest.lookup import invalidate_forms, invalidate_keys, invalidate_projects
from orderreport.projects.models import ApiKey, Domain, Event, Project


def _twice(func: Any, *args: Any) -> None:
    func(*args)
    transaction.on_commit(lambda: func(*args))


@receiver([post_save, post_delete], sender=ApiKey)
def _api_key_changed(instance: ApiKey, **kwargs: Any) -> None:
    # A new key may have been cached as "unknown" by an earlier request: that entry goes too.
    _twice(invalidate_keys, [(instance.key, instance.kind)])


def _changes(instance: ApiKey | Domain | Event, field: str, **kwargs: Any) -> Any:
    """The field's value in the database before this save, if the save changes it."""
    update_fields = kwargs.get("update_fields")
    names = {field, field.removesuffix("_id")}
    if instance.pk is None or kwargs.get("raw") or (update_fields and not names & update_fields):
        return None
    old = type(instance)._base_manager.filter(pk=instance.pk).values_list(field, flat=True).first()
    return old if old is not None and old != getattr(instance, field) else None


@receiver(pre_save, sender=ApiKey)
def _api_key_regenerated(instance: ApiKey, **kwargs: Any) -> None:
    # Entries are keyed by the raw key: the old value's entry would let it in until the TTL.
    # This is what makes a rotated server key (a new hash in `key`) fail on the next request.
    old_key = _changes(instance, "key", **kwargs)
    if old_key is not None:
        _twice(invalidate_keys, [(old_key, instance.kind)])


@receiver(pre_save, sender=Domain)
@receiver(pre_save, sender=Event)
def _project_part_moved(instance: Domain | Event, **kwargs: Any) -> None:
    # Moved to another project: the old project's keys must forget it too.
    old_project_id = _changes(instance, "project_id", **kwargs)
    if old_project_id is not None:
        _twice(invalidate_projects, [old_project_id])


@receiver([post_save, post_delete], sender=Domain)
@receiver([post_save, post_delete], sender=Event)
def _project_part_changed(instance: Domain | Event, **kwargs: Any) -> None:
    _twice(invalidate_projects, [instance.project_id])


@receiver(pre_save, sender=Event)
def _event_key_changed(instance: Event, **kwargs: Any) -> None:
    # A rotated form token (or a changed key) must stop working on the very next post.
    old_key = _changes(instance, "key", **kwargs)
    old_token = _changes(instance, "form_token", **kwargs)
    if old_key is not None or old_token is not None:
        keys, tokens = [old_key] if old_key else [], [old_token] if old_token else []
        _twice(invalidate_forms, keys, tokens)


@receiver([post_save, post_delete], sender=Event)
def _event_changed(instance: Event, **kwargs: Any) -> None:
    # A deleted event is no longer among its project's events: its own entries go here.
    _twice(invalidate_forms, [instance.key], [instance.form_token])


@receiver(post_save, sender=Project)
def _project_changed(instance: Project, **kwargs: Any) -> None:
    _twice(invalidate_projects, [instance.pk])


@receiver(post_save, sender=Account)
def _account_changed(instance: Account, **kwargs: Any) -> None:
    project_ids = list(instance.projects.values_list("id", flat=True))
    if project_ids:
        _twice(invalidate_projects, project_ids)


@receiver(plan_changed)
def _release_held_orders(account: Account, **kwargs: Any) -> int:
    from orderreport.ingest.held import release_held

    return release_held(account)
