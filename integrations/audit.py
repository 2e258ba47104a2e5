"""The audit trail: every human decision and every replay leaves one row."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from integrations.models import AuditEvent


def audit_record(
    *,
    action: str,
    subject: models.Model,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_type=subject._meta.model_name,
        subject_id=str(subject.pk),
        reason=reason,
        data=data or {},
    )
