"""Recurring billing: each due subscription period charged once with a PayTrace sale by vault customer.

Exactly once per period, even when a run dies half-way:
1. The period is claimed by creating its SubscriptionCharge row (unique per subscription and period start)
   in the same transaction that moves `next_run_on` on, so no run opens the same period again.
2. The charge moves to "charging" in its own committed transaction before PayTrace is called.
3. A charge found still "charging" after `LEASE` (longer than any run may last) belongs to a run that
   died: PayTrace may have charged the card. Its outcome is looked up in PayTrace's export by our
   reference (the sale's invoice_id, `SUB-<subscription>-<period start>`) before anything is sent again.

An approved sale is ingested like any other PayTrace record (re-read by id) and decided, so the existing
pipeline plans the ERP receipt, and with it the period's own ERP invoice, under the period's reference
and through the subscription's own ERP connection (`payments.services.postings`): the receipt waits for
the invoice and is applied to it (`payments.erp.invoices`).
"""

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import transaction as db_transaction
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import (
    PayTraceDeclined,
    PayTraceError,
    PayTraceTransientError,
)
from integrations.paytrace.records import transaction_record_parse
from integrations.paytrace.types import Details, VaultCustomer
from integrations.selectors import connection_timezone
from payments.models import Subscription, SubscriptionCharge, Transaction
from payments.selectors.billing import (
    subscription_charges_due,
    subscription_period_starts,
    subscriptions_due,
    subscriptions_finished,
)
from payments.services.billing_periods import anchor_day_from, period_after
from payments.services.dunning import subscription_charge_decline_record
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from portal.lifecycle import StaleTransition, status_transition

# Longer than the billing task's timeout (after which django-q2 kills the worker) with room to spare.
LEASE = timedelta(minutes=10)
# A refused request (bad vault customer, lost API permission) waits a day rather than hammering PayTrace.
REFUSED_RETRY_AFTER = timedelta(days=1)
ChargeStatus = SubscriptionCharge.Status
SubStatus = Subscription.Status

Progress = Callable[[int, int], None]


class Outcome(StrEnum):
    CHARGED = "charged"
    FOUND = "found_in_paytrace"  # a dead run's sale, recorded without charging again
    DECLINED = "declined"
    SUSPENDED = "suspended"
    RETRY_LATER = "retry_later"
    SKIPPED = "skipped"  # another run holds it
    ERROR = "error"


@dataclass
class BillingSummary:
    periods_opened: int = 0
    charged: int = 0
    found_in_paytrace: int = 0
    declined: int = 0
    suspended: int = 0
    retry_later: int = 0
    skipped: int = 0
    error: int = 0
    ended: int = 0
    out_of_time: bool = False

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def as_text(self) -> str:
        text = (
            f"{self.periods_opened} period(s) opened; charged {self.charged}, found already charged in "
            f"PayTrace {self.found_in_paytrace}, declined {self.declined}, suspended {self.suspended}, "
            f"to retry later {self.retry_later}, skipped {self.skipped}, errors {self.error}; "
            f"{self.ended} subscription(s) ended"
        )
        return f"{text}; stopped at the time budget" if self.out_of_time else text


def subscription_charge_reference(*, charge: SubscriptionCharge) -> str:
    """Our reference for the period, sent as the sale's invoice_id and looked up after a crash."""
    return f"SUB-{charge.subscription_id}-{charge.period_start:%Y%m%d}"


def subscription_period_open(*, subscription: Subscription, today: date) -> SubscriptionCharge | None:
    """Claim the subscription's current period: its charge row is created and `next_run_on` moves to the
    next period in one transaction. Returns None when there is nothing to claim (another run has the
    row locked, it is no longer due, or the period was billed before and is only skipped over)."""
    with db_transaction.atomic():
        locked = (
            subscriptions_due(today=today, subscription_ids=[subscription.pk])
            .select_for_update(skip_locked=True)
            .first()
        )
        if locked is None:
            return None
        period_start = locked.next_run_on
        charge, created = SubscriptionCharge.objects.get_or_create(
            subscription=locked, period_start=period_start, defaults={"amount": locked.amount}
        )
        starts = subscription_period_starts(subscription=locked)
        locked.next_run_on = period_after(
            period_start=period_start,
            interval=locked.interval,
            anchor_day=anchor_day_from(period_starts=starts),
        )
        locked.save(update_fields=["next_run_on", "updated_at"])
    return charge if created else None


def subscriptions_bill_due(
    *,
    now: datetime | None = None,
    subscription_ids: Collection[int] | None = None,
    time_budget_seconds: float | None = None,
    progress: Progress | None = None,
) -> BillingSummary:
    """Open every due period, attempt every due charge, end finished subscriptions."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = time.monotonic()
    summary = BillingSummary()
    for subscription in subscriptions_due(today=today, subscription_ids=subscription_ids):
        summary.periods_opened += subscription_period_open(subscription=subscription, today=today) is not None
    charges = list(
        subscription_charges_due(today=today, stale_before=now - LEASE, subscription_ids=subscription_ids)
    )
    clients: dict[int, PayTraceClient] = {}
    for index, charge in enumerate(charges, start=1):
        if time_budget_seconds is not None and time.monotonic() - started > time_budget_seconds:
            summary.out_of_time = True  # the rest stay due for the next run
            break
        connection = charge.subscription.paytrace_connection
        client = clients.setdefault(connection.pk, PayTraceClient.from_connection(connection))
        summary.count(_charge_attempt_guarded(charge=charge, client=client, now=now))
        if progress:
            progress(index, len(charges))
    summary.ended = subscriptions_end_finished(today=today)
    return summary


def _charge_attempt_guarded(*, charge: SubscriptionCharge, client: PayTraceClient, now: datetime) -> Outcome:
    try:
        return subscription_charge_attempt(charge=charge, client=client, now=now)
    except Exception as exc:  # noqa: BLE001 - one charge's failure must not stop the others
        # Whatever state the charge is in is safe: "charging" is looked up in PayTrace before a resend.
        error = f"{type(exc).__name__}: {exc}"
        SubscriptionCharge.objects.filter(pk=charge.pk).update(last_error=f"error: {error}")
        alert_raise(
            title=f"Subscription charge {charge.pk} failed unexpectedly",
            message=error,
            subject=charge.subscription,
        )
        return Outcome.ERROR


def subscription_charge_attempt(
    *, charge: SubscriptionCharge, client: PayTraceClient, now: datetime
) -> Outcome:
    """Charge one period once: claim it, find a dead run's sale or send a new one, record the answer."""
    today = timezone.localdate(now)
    if charge.status == ChargeStatus.CHARGING:
        if not _charge_reclaim(charge=charge, stale_before=now - LEASE, now=now):
            return Outcome.SKIPPED
        found = _charge_find_in_paytrace(charge=charge, client=client, now=now)
        if found is not None:
            if _is_declined(found, zone=_zone(charge)):
                return _charge_declined(charge=charge, raw=found, client=client, today=today)
            _charge_approved(charge=charge, raw=found, client=client)
            return Outcome.FOUND
    else:
        try:
            status_transition(instance=charge, to_status=ChargeStatus.CHARGING)  # committed on its own
        except StaleTransition:
            return Outcome.SKIPPED
    try:
        result = client.sale(
            amount=charge.amount,
            source=VaultCustomer(customer_id=charge.subscription.paytrace_customer_id),
            details=_sale_details(charge=charge),
        )
    except PayTraceDeclined as declined:
        raw = client.transaction_export_by_id(transaction_id=declined.result.transaction_id)
        answer = " ".join(filter(None, (declined.result.status_message, declined.result.approval_message)))
        return _charge_declined(charge=charge, raw=raw, client=client, today=today, message=answer)
    except PayTraceTransientError as exc:
        return _charge_transient(charge=charge, error=exc)
    except PayTraceError as exc:
        return _charge_refused(charge=charge, error=exc, today=today)
    raw = client.transaction_export_by_id(transaction_id=result.transaction_id)
    if raw is None:
        raise PayTraceError(f"PayTrace approved {result.transaction_id} but does not export it")
    _charge_approved(charge=charge, raw=raw, client=client)
    return Outcome.CHARGED


def _sale_details(*, charge: SubscriptionCharge) -> Details:
    subscription = charge.subscription
    return Details(
        invoice_id=subscription_charge_reference(charge=charge),
        description=(subscription.description or f"Subscription {subscription.pk}")[:255],
    )


def _zone(charge: SubscriptionCharge) -> ZoneInfo:
    return connection_timezone(charge.subscription.paytrace_connection)


def _is_declined(raw: dict, *, zone: ZoneInfo) -> bool:
    return transaction_record_parse(raw, tz=zone).status == Transaction.Status.DECLINED


def _charge_reclaim(*, charge: SubscriptionCharge, stale_before: datetime, now: datetime) -> bool:
    """Take over a charge a dead run left in "charging"; of two runs racing for it, one wins."""
    claimed = SubscriptionCharge.objects.filter(
        pk=charge.pk, status=ChargeStatus.CHARGING, updated_at__lt=stale_before
    ).update(updated_at=now)
    return claimed == 1


def _charge_find_in_paytrace(
    *, charge: SubscriptionCharge, client: PayTraceClient, now: datetime
) -> dict | None:
    """The outcome a dead run did not record: an approved sale for our reference, or a decline beyond
    those already counted. None means the request never reached PayTrace, so sending it is safe."""
    zone = _zone(charge)
    reference = subscription_charge_reference(charge=charge)
    records = client.transactions_export_by_date_range(
        start_date=charge.created_at.astimezone(zone).date() - timedelta(days=1),
        end_date=now.astimezone(zone).date(),
        customer_id=charge.subscription.paytrace_customer_id,
    )
    ours = [raw for raw in records if str(raw.get("invoice_id") or "") == reference]
    declined = [raw for raw in ours if _is_declined(raw, zone=zone)]
    approved = [raw for raw in ours if raw not in declined]
    if approved:
        return approved[-1]
    if len(declined) > charge.attempt_count:
        return declined[-1]
    return None


def _transaction_ingest(*, charge: SubscriptionCharge, raw: dict, client: PayTraceClient) -> Transaction:
    """Store PayTrace's record through the one ingest path, then decide it (the pipeline plans the ERP
    receipt). The decision runs even when the record was stored before, by the polling sync or by a run
    that died before deciding: planning is idempotent, and a charge is recorded only once it is planned."""
    subscription = charge.subscription
    transaction = paytrace_record_ingest(
        connection=subscription.paytrace_connection, client=client, raw=raw
    ).transaction
    if transaction.customer_id is None:
        # The subscription knows its customer even when the vault customer is not linked yet.
        Transaction.objects.filter(pk=transaction.pk).update(customer=subscription.customer)
        transaction.customer = subscription.customer
    transaction_decide(transaction)
    return transaction


def _charge_approved(*, charge: SubscriptionCharge, raw: dict, client: PayTraceClient) -> None:
    transaction = _transaction_ingest(charge=charge, raw=raw, client=client)
    with db_transaction.atomic():
        status_transition(
            instance=charge,
            to_status=ChargeStatus.CHARGED,
            transaction=transaction,
            attempt_count=charge.attempt_count + 1,
            next_retry_on=None,
            last_error="",
        )
        subscription = Subscription.objects.select_for_update().get(pk=charge.subscription_id)
        if subscription.status == SubStatus.PAST_DUE:
            status_transition(instance=subscription, to_status=SubStatus.ACTIVE)


def _charge_declined(
    *, charge: SubscriptionCharge, raw: dict | None, client: PayTraceClient, today: date, message: str = ""
) -> Outcome:
    transaction = _transaction_ingest(charge=charge, raw=raw, client=client) if raw else None
    message = message or (transaction.status_message if transaction else "") or "declined"
    charge = subscription_charge_decline_record(
        charge=charge, transaction=transaction, message=message, today=today
    )
    return Outcome.DECLINED if charge.status == ChargeStatus.DECLINED else Outcome.SUSPENDED


def _charge_transient(*, charge: SubscriptionCharge, error: PayTraceTransientError) -> Outcome:
    """Not a decline and not counted as an attempt. When PayTrace may have acted, the charge stays
    "charging" so the lookup after the lease decides; otherwise it is simply due again next run."""
    message = f"transient: {error}"
    if error.maybe_applied:
        status_transition(instance=charge, to_status=ChargeStatus.CHARGING, last_error=message)
    else:
        status_transition(
            instance=charge, to_status=ChargeStatus.PENDING, last_error=message, next_retry_on=None
        )
    return Outcome.RETRY_LATER


def _charge_refused(*, charge: SubscriptionCharge, error: PayTraceError, today: date) -> Outcome:
    """PayTrace refused the request itself (unknown vault customer, lost permission): nothing was charged
    and resending unchanged cannot work, so it waits a day and finance is told once per new error."""
    message = f"refused: {error}"
    repeated = charge.last_error == message
    status_transition(
        instance=charge,
        to_status=ChargeStatus.PENDING,
        last_error=message,
        next_retry_on=today + REFUSED_RETRY_AFTER,
    )
    if not repeated:
        alert_raise(
            title=f"Subscription {charge.subscription_id} cannot be charged",
            message=f"PayTrace refused the sale for the period from {charge.period_start}: {error}",
            subject=charge.subscription,
        )
    return Outcome.RETRY_LATER


def subscriptions_end_finished(*, today: date) -> int:
    ended = 0
    for subscription in subscriptions_finished(today=today):
        try:
            status_transition(instance=subscription, to_status=SubStatus.ENDED)
        except StaleTransition:
            continue
        ended += 1
    return ended
