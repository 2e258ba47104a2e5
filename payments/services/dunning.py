"""Dunning: what a declined subscription charge sets off.

Each decline schedules the next retry from the subscription's `dunning_schedule_days` (offsets in days after
the first decline, default +1, +3, +7), puts the subscription past due, emails the customer's contact and
raises an alert. The decline after the last retry fails the charge and suspends the subscription. The
email says the amount, the period and at most the card's last four digits, never more."""

import logging
from collections.abc import Sequence
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction as db_transaction

from integrations.alerts import alert_raise
from integrations.models import Alert
from payments.models import Subscription, SubscriptionCharge, Transaction
from portal.lifecycle import status_transition

logger = logging.getLogger(__name__)

DEFAULT_DUNNING_SCHEDULE_DAYS = (1, 3, 7)
ChargeStatus = SubscriptionCharge.Status
SubStatus = Subscription.Status


def dunning_schedule(*, subscription: Subscription) -> tuple[int, ...]:
    """Retry offsets in days after the first decline, ascending. A malformed list (it is hand-editable
    JSON) falls back to the default rather than leaving a declined charge without a next step."""
    days = subscription.dunning_schedule_days
    if isinstance(days, list) and days and all(isinstance(day, int) and day > 0 for day in days):
        return tuple(sorted(days))
    return DEFAULT_DUNNING_SCHEDULE_DAYS


def dunning_retry_on(*, schedule: Sequence[int], declines: int, today: date) -> date | None:
    """When to try again after the `declines`-th decline of a period, or None once retries are spent.
    Offsets count from the first decline, so a retry that ran late does not push the later ones back."""
    if declines > len(schedule):
        return None
    previous = schedule[declines - 2] if declines >= 2 else 0
    return today + timedelta(days=max(schedule[declines - 1] - previous, 1))


def subscription_charge_decline_record(
    *, charge: SubscriptionCharge, transaction: Transaction | None, message: str, today: date
) -> SubscriptionCharge:
    """Record one decline of `charge` (in "charging"), then tell the customer and finance."""
    subscription = charge.subscription
    declines = charge.attempt_count + 1
    retry_on = dunning_retry_on(
        schedule=dunning_schedule(subscription=subscription), declines=declines, today=today
    )
    with db_transaction.atomic():
        status_transition(
            instance=charge,
            to_status=ChargeStatus.DECLINED if retry_on else ChargeStatus.FAILED,
            attempt_count=declines,
            next_retry_on=retry_on,
            last_error=message,
            transaction=transaction,
        )
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status == SubStatus.ACTIVE:
            status_transition(instance=subscription, to_status=SubStatus.PAST_DUE)
        if retry_on is None and subscription.status == SubStatus.PAST_DUE:
            status_transition(instance=subscription, to_status=SubStatus.SUSPENDED)
    charge.subscription = subscription
    emailed = _customer_notify(
        charge=charge, last4=transaction.last4 if transaction else "", retry_on=retry_on
    )
    _finance_alert(charge=charge, message=message, retry_on=retry_on, emailed=emailed)
    return charge


def _finance_alert(*, charge: SubscriptionCharge, message: str, retry_on: date | None, emailed: bool) -> None:
    subscription = charge.subscription
    what = f"Subscription {subscription.pk} ({subscription.customer.name})"
    notice = "customer emailed" if emailed else "customer NOT emailed (no contact email or the send failed)"
    if retry_on is None:
        alert_raise(
            title=f"{what} suspended: last retry declined",
            message=f"{charge.amount} {subscription.currency} for the period from {charge.period_start} was "
            f"declined {charge.attempt_count} times ({message}); {notice}.",
            subject=subscription,
        )
        return
    alert_raise(
        title=f"{what} past due: charge declined",
        message=f"{charge.amount} {subscription.currency} for the period from {charge.period_start}: "
        f"decline {charge.attempt_count} ({message}); next retry on {retry_on}; {notice}.",
        severity=Alert.Severity.WARNING,
        subject=subscription,
    )


def _customer_notify(*, charge: SubscriptionCharge, last4: str, retry_on: date | None) -> bool:
    """Email the customer's contact. Sent once per decline, after the decline is stored: a crash in
    between loses the email rather than sending it twice, and the alert says whether it went out."""
    subscription = charge.subscription
    customer = subscription.customer
    if not customer.email:
        return False
    label = subscription.description or "your subscription"
    card = f"the card ending in {last4}" if last4 else "the card we have on file"
    if retry_on is None:
        subject = f"Payment failed: {label} is suspended"
        next_step = (
            "This was our last attempt, so the subscription is now suspended. Please contact us to update "
            "your payment details and resume it."
        )
    else:
        subject = f"Payment declined for {label}"
        next_step = (
            f"We will try again on {retry_on:%B %d, %Y}. If your card has changed, please contact us to "
            "update it before then."
        )
    body = (
        f"Hello {customer.name},\n\n"
        f"We could not collect {charge.amount} {subscription.currency} for {label} (period starting "
        f"{charge.period_start:%B %d, %Y}) from {card}.\n\n{next_step}\n\nThank you.\n"
    )
    try:
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[customer.email],
        )
    except Exception:  # noqa: BLE001 - a mail outage must not undo the recorded decline; the alert says so
        logger.exception("dunning email for subscription charge %s failed", charge.pk)
        return False
    return True
