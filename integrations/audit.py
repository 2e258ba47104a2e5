"""The audit trail: every human decision, every replay and every edit by hand leaves one row."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.utils.text import capfirst

from integrations.audit_subjects import subject_model
from integrations.fields import EncryptedJSONField
from integrations.models import AuditEvent
from portal.pci import redact

# Kept by Django itself on every save: not what anyone changed.
BOOKKEEPING_FIELDS = frozenset({"id", "created_at", "updated_at"})


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


def audit_record_export(*, list_name: str, query: str, actor: AbstractBaseUser | None) -> AuditEvent:
    """A list exported as CSV: which list, and the filters and search that chose its rows."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action="list.export",
        subject_type="",
        subject_id="",
        reason=f"Exported {list_name}" + (f" where {query}" if query else ""),
        data={"list": list_name, "query": query},
    )


def _stored_values(instance: models.Model | None) -> dict[str, Any]:
    if instance is None:
        return {}
    return {
        field.name: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if field.name not in BOOKKEEPING_FIELDS
    }


def audit_record_edit(
    *,
    verb: str,
    before: models.Model | None,
    after: models.Model | None,
    actor: AbstractBaseUser | None,
) -> AuditEvent:
    """An add (no `before`), change or delete (no `after`) made by hand, as `<model>.<verb>` with the
    fields it changed and their values before and after. An encrypted field is named in `changed` when
    it changed; its values are never written, nor are secret-named keys or card numbers in the others."""
    subject = after if after is not None else before
    old, new = _stored_values(before), _stored_values(after)
    changed = [name for name in (new or old) if old.get(name) != new.get(name)]
    secret = {field.name for field in subject._meta.concrete_fields if isinstance(field, EncryptedJSONField)}
    shown = [name for name in changed if name not in secret]
    return audit_record(
        action=f"{subject._meta.model_name}.{verb}",
        subject=subject,
        actor=actor,
        data={
            "changed": changed,
            "before": redact({name: old[name] for name in shown if before is not None}),
            "after": redact({name: new[name] for name in shown if after is not None}),
        },
    )


# Decisions as finance says them; an edit by hand ("<model>.<verb>") is worded from its model's name.
ACTION_LABELS = {
    "alert.acknowledge": "Alert acknowledged",
    "allocation.undo": "Payment application undone",
    "api_token_created": "API token created",
    "api_token_revoked": "API token revoked",
    "duplicate.different": "Duplicate: different customers",
    "duplicate.same": "Duplicate: merged as one customer",
    "mappings.import": "Mappings imported",
    "posting.cancel": "ERP posting cancelled",
    "posting.release": "ERP posting released",
    "posting.replay": "Dead letter replayed",
    "reconciliation.link": "Exception linked to a transaction",
    "reconciliation.resolve": "Exception resolved",
    "reconciliation.write_off": "Exception written off",
    "risk.approve": "Flagged payment approved",
    "risk.reject": "Flagged payment rejected",
    "subscription.cancel": "Subscription cancelled",
    "subscription.charge_now": "Subscription charged now",
    "subscription.resume": "Subscription resumed",
    "transaction.chargeback": "Chargeback recorded",
    "transaction.refund": "Payment refunded",
    "transaction.void": "Payment voided",
    "webhook_event.requeue": "Webhook event reprocessed",
    "list.export": "List exported (CSV)",
    "login.failed": "Login failed",
    "login.locked_out": "Login locked out",
}
EDIT_VERBS = {"add": "added", "change": "changed", "delete": "deleted"}


def audit_action_label(*, action: str) -> str:
    """'risk.approve' -> 'Flagged payment approved'; 'glaccountrule.change' -> 'GL account rule changed'."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    subject, _, verb = action.rpartition(".")
    model = subject_model(subject_type=subject) if subject else None
    if model is not None and verb in EDIT_VERBS:
        return f"{capfirst(model._meta.verbose_name)} {EDIT_VERBS[verb]}"
    return capfirst(action.replace(".", ": ").replace("_", " "))
