"""Reads for recurring billing: which subscriptions open a period, which charges are due, which end."""

from collections.abc import Collection
from datetime import date, datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from payments.models import Subscription, SubscriptionCharge

ChargeStatus = SubscriptionCharge.Status
SubStatus = Subscription.Status

# A charge in one of these still has money to collect (or an outcome to find out).
OPEN_CHARGE_STATUSES = (ChargeStatus.PENDING, ChargeStatus.CHARGING, ChargeStatus.DECLINED)
BILLABLE_STATUSES = (SubStatus.ACTIVE, SubStatus.PAST_DUE)
# Enough earlier period starts to read the anchor day from: a year of monthly periods and one more.
ANCHOR_HISTORY = 13


def _for(queryset: QuerySet, *, subscription_ids: Collection[int] | None, field: str) -> QuerySet:
    return queryset if subscription_ids is None else queryset.filter(**{f"{field}__in": subscription_ids})


def subscriptions_due(
    *, today: date, subscription_ids: Collection[int] | None = None
) -> QuerySet[Subscription]:
    """Active subscriptions whose next period has started and does not start after their end. A past-due
    one opens no new period while dunning runs: more charges on a failing card only pile up declines."""
    due = Subscription.objects.filter(status=SubStatus.ACTIVE, next_run_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(next_run_on__lte=F("ends_on"))
    )
    return _for(due, subscription_ids=subscription_ids, field="pk").order_by("next_run_on", "pk")


def subscription_charges_due(
    *, today: date, stale_before: datetime, subscription_ids: Collection[int] | None = None
) -> QuerySet[SubscriptionCharge]:
    """Charges to attempt now: new or returned ones, declined ones whose retry day has come, and ones left
    in "charging" longer than any run can last (the run died: their outcome must be looked up first)."""
    due = SubscriptionCharge.objects.filter(subscription__status__in=BILLABLE_STATUSES).filter(
        Q(status=ChargeStatus.PENDING, next_retry_on__isnull=True)
        | Q(status=ChargeStatus.PENDING, next_retry_on__lte=today)
        | Q(status=ChargeStatus.DECLINED, next_retry_on__lte=today)
        | Q(status=ChargeStatus.CHARGING, updated_at__lt=stale_before)
    )
    return (
        _for(due, subscription_ids=subscription_ids, field="subscription_id")
        .select_related("subscription__customer", "subscription__paytrace_connection")
        .order_by("pk")
    )


def subscription_period_starts(*, subscription: Subscription) -> list[date]:
    """The subscription's most recent period starts, newest first."""
    return list(
        subscription.charges.order_by("-period_start").values_list("period_start", flat=True)[:ANCHOR_HISTORY]
    )


def subscriptions_finished(*, today: date) -> QuerySet[Subscription]:
    """Active subscriptions past their end date, with no period left to bill (the next one would start
    after the end) and nothing still being collected."""
    open_charge = SubscriptionCharge.objects.filter(
        subscription_id=OuterRef("pk"), status__in=OPEN_CHARGE_STATUSES
    )
    return (
        Subscription.objects.filter(status=SubStatus.ACTIVE, ends_on__lt=today)
        .filter(ends_on__lt=F("next_run_on"))
        .exclude(Exists(open_charge))
    )
