"""A person's decision on a probable duplicate, and the merge that "same customer" means."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, CustomerLink, DuplicateCandidate
from customers.services import SYNCED_FIELDS, customer_normalized_fields_set
from integrations.audit import audit_record
from portal.lifecycle import status_transition

Status = DuplicateCandidate.Status


def _customer_references() -> list[tuple[type, str]]:
    """Every foreign key to a customer outside this app (payments, invoices, orders, subscriptions,
    postings, whatever is added later): all of it moves to the customer kept."""
    return [
        (relation.related_model, relation.field.name)
        for relation in Customer._meta.related_objects
        if relation.one_to_many and relation.related_model._meta.app_label != Customer._meta.app_label
    ]


def customer_merge(*, keep: Customer, drop: Customer) -> Customer:
    """Move `drop`'s links, payments, invoices, orders, subscriptions and postings to `keep`, fill
    `keep`'s blank fields from `drop`, then delete `drop`. Refused when both have an id in the same system:
    that is two customers there, to be merged there first."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk__in=[keep.pk, drop.pk]).order_by("pk")
        by_pk = {customer.pk: customer for customer in locked}
        keep, drop = by_pk[keep.pk], by_pk[drop.pk]
        clash = CustomerLink.objects.filter(
            customer=keep, connection_id__in=drop.links.values("connection_id")
        ).select_related("connection")
        if clash:
            systems = ", ".join(link.connection.name for link in clash)
            raise ValidationError(f"Both customers have their own id in {systems}: merge them there first.")
        drop.links.update(customer=keep)
        for model, field in _customer_references():
            model.objects.filter(**{field: drop}).update(**{field: keep})
        for name in SYNCED_FIELDS:
            if not getattr(keep, name) and getattr(drop, name):
                setattr(keep, name, getattr(drop, name))
                keep.field_updated_at[name] = drop.field_updated_at.get(name, timezone.now().isoformat())
        customer_normalized_fields_set(customer=keep)
        keep.save()
        drop.delete()
    return keep


def duplicate_decide(
    *, candidate: DuplicateCandidate, same: bool, actor: AbstractBaseUser | None = None, reason: str = ""
) -> DuplicateCandidate:
    """Record the decision and, for "same customer", merge the newer customer into the older one."""
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        status_transition(
            instance=candidate,
            to_status=Status.SAME if same else Status.DIFFERENT,
            decided_by=actor if actor is not None and actor.is_authenticated else None,
            decided_at=timezone.now(),
            decision_reason=reason,
        )
        data = {
            "candidate": candidate.pk,
            "customer": candidate.customer_id,
            "other": candidate.other_id,
            "found_because": candidate.reason,
        }
        if not same:
            audit_record(
                action="duplicate.different", subject=candidate, actor=actor, reason=reason, data=data
            )
            return candidate
        kept = customer_merge(keep=candidate.customer, drop=candidate.other)
        # The candidate row goes with the merged-away customer: the audit trail keeps the decision.
        audit_record(action="duplicate.same", subject=kept, actor=actor, reason=reason, data=data)
    return candidate
