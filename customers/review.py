"""A person's decision on a probable duplicate, and the merge that "same customer" means."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, DuplicateCandidate
from customers.services import SYNCED_FIELDS, customer_normalized_fields_set
from integrations.alerts import alert_raise
from integrations.audit import audit_record
from integrations.models import Alert
from portal.lifecycle import status_transition

Status = DuplicateCandidate.Status
# Where, in each ERP's own screens, one customer number is merged into another. An ERP not named here
# gets the instruction without a menu path.
ERP_MERGE_SCREENS = {"sage_300": "A/R > Customers > Change customer number"}


@dataclass(frozen=True)
class ErpIdsToMerge:
    """Both customers had their own id in one ERP: ours are one customer now, the ERP's are still two."""

    erp_name: str
    erp_system: str
    kept_id: str
    merged_id: str

    def instruction(self) -> str:
        screen = ERP_MERGE_SCREENS.get(self.erp_system)
        where = f" ({self.erp_name}: {screen})" if screen else ""
        return (
            f"In {self.erp_name}, merge customer {self.merged_id} into {self.kept_id}{where} "
            f"or set {self.merged_id} inactive, so nothing more is posted to it."
        )


@dataclass(frozen=True)
class MergeOutcome:
    kept: Customer
    erp_ids_to_merge: list[ErpIdsToMerge]


def _customer_references() -> list[tuple[type, str]]:
    """Every foreign key to a customer outside this app (payments, invoices, orders, subscriptions,
    postings, whatever is added later): all of it moves to the customer kept."""
    return [
        (relation.related_model, relation.field.name)
        for relation in Customer._meta.related_objects
        if relation.one_to_many and relation.related_model._meta.app_label != Customer._meta.app_label
    ]


def _clashing_ids_keep(*, keep: Customer, drop: Customer) -> list[ErpIdsToMerge]:
    """Where both have an id in the same system, the kept customer's stays its link and the other's is
    recorded on it (so a later sync of that id does not make the customer again)."""
    kept_links = {link.connection_id: link for link in keep.links.select_related("connection")}
    clashes = []
    for link in drop.links.select_related("connection").order_by("pk"):
        kept = kept_links.get(link.connection_id)
        if kept is None:
            continue
        keep.merged_erp_ids.append(
            {
                "connection": link.connection_id,
                "system": link.connection.system,
                "external_id": link.external_id,
                "merged_customer": drop.pk,
                "merged_at": timezone.now().isoformat(),
            }
        )
        clashes.append(
            ErpIdsToMerge(
                erp_name=link.connection.name,
                erp_system=link.connection.system,
                kept_id=kept.external_id,
                merged_id=link.external_id,
            )
        )
        link.delete()
    return clashes


def customer_merge(*, keep: Customer, drop: Customer) -> MergeOutcome:
    """Move `drop`'s links, payments, invoices, orders, subscriptions and postings to `keep`, fill
    `keep`'s blank fields from `drop`, then delete `drop`. Where both had an id in one ERP, `keep`'s id
    stays the one we post to and the other is kept on `keep` with what finance must do in that ERP."""
    if keep.pk == drop.pk:
        raise ValidationError("A customer cannot be merged into itself.")
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk__in=[keep.pk, drop.pk]).order_by("pk")
        by_pk = {customer.pk: customer for customer in locked}
        keep, drop = by_pk[keep.pk], by_pk[drop.pk]
        clashes = _clashing_ids_keep(keep=keep, drop=drop)
        keep.merged_erp_ids.extend(drop.merged_erp_ids)
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
        for clash in clashes:
            # The connectors cannot close a customer in an ERP: finance is told exactly what to do there.
            alert_raise(
                title=f"Merge customer {clash.merged_id} into {clash.kept_id} in {clash.erp_name}",
                message=clash.instruction(),
                severity=Alert.Severity.WARNING,
                subject=keep,
            )
    return MergeOutcome(kept=keep, erp_ids_to_merge=clashes)


def duplicate_decide(
    *,
    candidate: DuplicateCandidate,
    same: bool,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    keep: Customer | None = None,
) -> MergeOutcome | None:
    """Record the decision and, for "same customer", merge the other into `keep` (one of the pair; the
    older one unless a person chose). Returns the merge's outcome, None for "different customers"."""
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        pair = {candidate.customer_id: candidate.customer, candidate.other_id: candidate.other}
        keep_pk = candidate.customer_id if keep is None else keep.pk
        if keep_pk not in pair:
            raise ValidationError("The customer kept must be one of the two.")
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
            return None
        drop = next(customer for pk, customer in pair.items() if pk != keep_pk)
        data.update(kept=keep_pk, merged=drop.pk, merged_name=str(drop))
        outcome = customer_merge(keep=pair[keep_pk], drop=drop)
        data["erp_ids_to_merge"] = [clash.instruction() for clash in outcome.erp_ids_to_merge]
        # The candidate row goes with the merged-away customer: the audit trail keeps the decision.
        audit_record(action="duplicate.same", subject=outcome.kept, actor=actor, reason=reason, data=data)
    return outcome
