"""Staff decisions on subscriptions: charge now, cancel, resume. Each leaves an AuditEvent."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone

from integrations.audit import audit_record
from payments.models import Subscription
from payments.selectors.billing import subscription_charges_due, subscriptions_due
from payments.services.billing import LEASE, BillingSummary, subscriptions_bill_due
from portal.lifecycle import status_transition

Status = Subscription.Status

CANCELLABLE_STATUSES = (Status.ACTIVE, Status.PAST_DUE, Status.SUSPENDED)


def subscriptions_charge_now(
    *, subscription_ids: list[int], actor: AbstractBaseUser | None, reason: str = ""
) -> tuple[list[int], BillingSummary]:
    """Run billing at once for those of these subscriptions that are due: a period that has started or a
    retry whose day has come. Charging ahead of a period is not what "charge now" means. Returns the ids
    acted on and the run's summary."""
    now = timezone.now()
    today = timezone.localdate(now)
    due = set(subscriptions_due(today=today, subscription_ids=subscription_ids).values_list("pk", flat=True))
    due |= set(
        subscription_charges_due(
            today=today, stale_before=now - LEASE, subscription_ids=subscription_ids
        ).values_list("subscription_id", flat=True)
    )
    if not due:
        return [], BillingSummary()
    summary = subscriptions_bill_due(now=now, subscription_ids=due)
    for subscription in Subscription.objects.filter(pk__in=due):
        audit_record(
            action="subscription.charge_now",
            subject=subscription,
            actor=actor,
            reason=reason,
            data={"summary": summary.__dict__},
        )
    return sorted(due), summary


def subscription_cancel(
    *, subscription: Subscription, actor: AbstractBaseUser | None, reason: str = ""
) -> Subscription:
    """No further periods and no further retries (the billing selectors skip cancelled subscriptions)."""
    with db_transaction.atomic():
        status_transition(instance=subscription, to_status=Status.CANCELLED)
        audit_record(action="subscription.cancel", subject=subscription, actor=actor, reason=reason)
    return subscription


def subscription_resume(
    *, subscription: Subscription, actor: AbstractBaseUser | None, reason: str = ""
) -> Subscription:
    """A suspended subscription bills again from today: periods missed while suspended are not charged
    in a burst; the failed period stays failed for finance to settle with the customer."""
    today = timezone.localdate()
    next_run_on = max(subscription.next_run_on, today)
    with db_transaction.atomic():
        status_transition(instance=subscription, to_status=Status.ACTIVE, next_run_on=next_run_on)
        audit_record(
            action="subscription.resume",
            subject=subscription,
            actor=actor,
            reason=reason,
            data={"next_run_on": next_run_on.isoformat()},
        )
    return subscription
