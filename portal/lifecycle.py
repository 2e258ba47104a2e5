"""The one place where a row's status changes: allowed transitions are declared on the model.

A model with a lifecycle declares `TRANSITIONS = {from_status: {to_status, ...}}`. `status_transition`
refuses anything else and applies the change with a conditional UPDATE, so two workers racing to move
the same row cannot both win.
"""

from typing import Any

from django.db import models
from django.utils import timezone


class InvalidTransition(Exception):
    def __init__(self, *, instance: models.Model, from_status: str, to_status: str):
        self.instance, self.from_status, self.to_status = instance, from_status, to_status
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk}: {from_status!r} cannot move to {to_status!r}"
        )


class StaleTransition(Exception):
    """The row's status changed under us between the read and the write."""


def transition_allowed(*, model: type[models.Model], from_status: str, to_status: str) -> bool:
    return to_status in model.TRANSITIONS.get(from_status, set())


def status_transition(*, instance: models.Model, to_status: str, **fields: Any) -> models.Model:
    """Move `instance` to `to_status`, also setting `fields`, or raise.

    Moving to the status it already has is a no-op that returns the instance unchanged, so a retried
    call is harmless.
    """
    from_status = instance.status
    if from_status == to_status and not fields:
        return instance
    if from_status != to_status and not transition_allowed(
        model=type(instance), from_status=from_status, to_status=to_status
    ):
        raise InvalidTransition(instance=instance, from_status=from_status, to_status=to_status)
    changes = {"status": to_status, **fields}
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        changes["updated_at"] = timezone.now()
    updated = type(instance)._default_manager.filter(pk=instance.pk, status=from_status).update(**changes)
    if updated != 1:
        raise StaleTransition(f"{instance._meta.verbose_name} {instance.pk} is no longer {from_status!r}")
    for name, value in changes.items():
        setattr(instance, name, value)
    return instance
