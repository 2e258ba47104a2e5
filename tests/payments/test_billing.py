"""Recurring billing against the PayTrace sandbox over real HTTP: each period charged once (also across a
killed run), the ERP receipt planned, dunning on declines, and the calendar arithmetic behind it."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from integrations.models import Alert, AuditEvent, ErpPosting, System
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.schedules import SCHEDULES
from payments import tasks
from payments.models import Subscription, SubscriptionCharge, Transaction
from payments.services import billing
from payments.services.billing import LEASE, subscription_charge_reference, subscriptions_bill_due
from payments.services.billing_periods import anchor_day_from, period_after
from payments.services.dunning import dunning_retry_on
from simulators.models import FaultProfile
from simulators.paytrace.models import PtTransaction
from tests.factories import SubscriptionFactory, UserFactory

Charge = SubscriptionCharge.Status
Sub = Subscription.Status
DECLINING_AMOUNT = "1.12"  # the PayTrace sandbox declines it


class WorkerKilled(BaseException):
    """Stands for the cluster dying: not an Exception, so nothing in the run catches it."""


def subscribe(world, number: str = "C1001", amount: str = "49.00", **fields) -> Subscription:
    return SubscriptionFactory(
        customer=world["customers"][number],
        paytrace_connection=world["connections"][System.PAYTRACE],
        erp_connection=world["connections"][System.SAGE_300],
        paytrace_customer_id=number,
        amount=Decimal(amount),
        description="Gear rental plan",
        **fields,
    )


def sales_for(charge: SubscriptionCharge) -> int:
    """What PayTrace itself holds for the period: the ground truth for "charged once"."""
    return PtTransaction.objects.filter(invoice_id=subscription_charge_reference(charge=charge)).count()


def days_later(days: int):
    return timezone.now() + timedelta(days=days)


# --- charging once --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_due_subscription_is_charged_once_and_its_receipt_planned(demo_world):
    subscription = subscribe(demo_world)
    today = subscription.next_run_on

    summary = subscriptions_bill_due()

    assert (summary.periods_opened, summary.charged, summary.error) == (1, 1, 0)
    charge = subscription.charges.get()
    assert (charge.status, charge.period_start, charge.attempt_count) == (Charge.CHARGED, today, 1)
    txn = charge.transaction
    assert txn.status == Transaction.Status.APPROVED
    assert txn.invoice_reference == subscription_charge_reference(charge=charge)
    assert txn.customer == subscription.customer
    receipt = ErpPosting.objects.get(document_type=ErpPosting.DocumentType.RECEIPT, transaction=txn)
    assert receipt.connection == demo_world["connections"][System.SAGE_300]
    # The period raises its own ERP invoice under the SUB- reference (issue 11); the receipt waits for it and
    # is applied to it, never to the customer's oldest unrelated invoice.
    invoice = ErpPosting.objects.get(document_type=ErpPosting.DocumentType.INVOICE)
    assert (invoice.reference, receipt.depends_on) == (txn.invoice_reference, invoice)
    assert not txn.allocations.exists()
    postings_post_due(time_budget_seconds=30)
    invoice.refresh_from_db()
    assert invoice.status == ErpPosting.Status.POSTED, invoice.last_error
    (allocation,) = txn.allocations.all()
    assert (allocation.invoice.invoice_number, allocation.amount) == (
        invoice.erp_document_number,
        Decimal("49.00"),
    )
    assert allocation.invoice.reference == txn.invoice_reference
    subscription.refresh_from_db()
    assert subscription.next_run_on > today and subscription.status == Sub.ACTIVE
    assert sales_for(charge) == 1

    again = subscriptions_bill_due()

    assert (again.periods_opened, again.charged, again.declined) == (0, 0, 0)
    assert sales_for(charge) == 1
    assert SubscriptionCharge.objects.count() == 1
    assert ErpPosting.objects.filter(transaction=txn).count() == 1


@pytest.mark.django_db(transaction=True)
def test_run_killed_after_paytrace_charged_is_not_charged_twice(demo_world, monkeypatch):
    subscribe(demo_world)

    def killed(**kwargs):
        raise WorkerKilled  # PayTrace has answered; the run dies before recording anything

    monkeypatch.setattr(billing, "_charge_approved", killed)
    with pytest.raises(WorkerKilled):
        subscriptions_bill_due()
    monkeypatch.undo()
    charge = SubscriptionCharge.objects.get()
    assert charge.status == Charge.CHARGING and charge.transaction is None
    assert sales_for(charge) == 1

    # A restart while the lease runs leaves it alone: the dead run might still be alive.
    assert subscriptions_bill_due().skipped == 0
    assert sales_for(charge) == 1 and SubscriptionCharge.objects.get().status == Charge.CHARGING

    restarted = subscriptions_bill_due(now=timezone.now() + LEASE + timedelta(minutes=1))

    assert (restarted.found_in_paytrace, restarted.charged) == (1, 0)
    charge.refresh_from_db()
    assert charge.status == Charge.CHARGED and charge.attempt_count == 1
    assert charge.transaction.invoice_reference == subscription_charge_reference(charge=charge)
    assert sales_for(charge) == 1
    assert ErpPosting.objects.filter(transaction=charge.transaction).count() == 1


@pytest.mark.django_db(transaction=True)
def test_receipt_planning_that_failed_is_done_when_the_charge_is_picked_up_again(demo_world, monkeypatch):
    subscribe(demo_world)

    def planning_fails(transaction):
        raise RuntimeError("ERP planning blew up")

    monkeypatch.setattr(billing, "transaction_decide", planning_fails)
    first = subscriptions_bill_due()
    monkeypatch.undo()
    assert first.error == 1
    charge = SubscriptionCharge.objects.get()
    assert charge.status == Charge.CHARGING and "ERP planning blew up" in charge.last_error
    assert Transaction.objects.count() == 1 and not ErpPosting.objects.exists()  # stored, not yet decided
    assert Alert.objects.filter(title__contains="failed unexpectedly").exists()

    restarted = subscriptions_bill_due(now=timezone.now() + LEASE + timedelta(minutes=1))

    assert restarted.found_in_paytrace == 1
    charge.refresh_from_db()
    assert charge.status == Charge.CHARGED and charge.last_error == ""
    assert ErpPosting.objects.filter(transaction=charge.transaction).count() == 1
    assert sales_for(charge) == 1


@pytest.mark.django_db(transaction=True)
def test_run_killed_before_paytrace_saw_the_sale_charges_it_after_the_lease(demo_world, monkeypatch):
    subscribe(demo_world)

    def killed(self, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(PayTraceClient, "sale", killed)
    with pytest.raises(WorkerKilled):
        subscriptions_bill_due()
    monkeypatch.undo()
    charge = SubscriptionCharge.objects.get()
    assert charge.status == Charge.CHARGING and sales_for(charge) == 0

    restarted = subscriptions_bill_due(now=timezone.now() + LEASE + timedelta(minutes=1))

    assert (restarted.found_in_paytrace, restarted.charged) == (0, 1)
    assert sales_for(charge) == 1


@pytest.mark.django_db(transaction=True)
def test_sale_applied_but_answered_too_late_is_found_not_resent(demo_world):
    paytrace = demo_world["connections"][System.PAYTRACE]
    paytrace.options = {**paytrace.options, "timeout": 0.5}
    paytrace.save()
    PayTraceClient.from_connection(paytrace)._token()  # log in first, so the fault hits the sale
    FaultProfile.objects.create(
        system=System.PAYTRACE, account="demo", applied_timeout_next=1, hang_seconds=1.0
    )
    subscribe(demo_world)

    first = subscriptions_bill_due()

    assert (first.charged, first.retry_later) == (0, 1)
    charge = SubscriptionCharge.objects.get()
    assert charge.status == Charge.CHARGING and "transient" in charge.last_error
    assert sales_for(charge) == 1  # PayTrace did charge

    later = subscriptions_bill_due(now=timezone.now() + LEASE + timedelta(minutes=1))

    assert later.found_in_paytrace == 1
    assert SubscriptionCharge.objects.get().status == Charge.CHARGED
    assert sales_for(charge) == 1


@pytest.mark.django_db(transaction=True)
def test_transient_error_is_retried_without_counting_as_a_decline(demo_world):
    paytrace = demo_world["connections"][System.PAYTRACE]
    PayTraceClient.from_connection(paytrace)._token()
    FaultProfile.objects.create(system=System.PAYTRACE, account="demo", error_next=1)  # a 503
    subscription = subscribe(demo_world)

    first = subscriptions_bill_due()

    charge = SubscriptionCharge.objects.get()
    assert (first.retry_later, charge.status, charge.attempt_count) == (1, Charge.PENDING, 0)
    subscription.refresh_from_db()
    assert subscription.status == Sub.ACTIVE
    assert mail.outbox == [] and sales_for(charge) == 0

    assert subscriptions_bill_due().charged == 1
    assert SubscriptionCharge.objects.get().status == Charge.CHARGED and sales_for(charge) == 1


@pytest.mark.django_db(transaction=True)
def test_refused_sale_waits_a_day_and_alerts_once(demo_world):
    subscription = subscribe(demo_world)
    Subscription.objects.filter(pk=subscription.pk).update(paytrace_customer_id="NOT-IN-VAULT")

    first = subscriptions_bill_due()

    charge = SubscriptionCharge.objects.get()
    assert (first.retry_later, charge.status, charge.attempt_count) == (1, Charge.PENDING, 0)
    assert charge.next_retry_on == timezone.localdate() + timedelta(days=1)
    assert "refused" in charge.last_error and mail.outbox == []
    assert subscriptions_bill_due().retry_later == 0  # not hammering PayTrace the same day
    assert subscriptions_bill_due(now=days_later(1)).retry_later == 1
    assert Alert.objects.filter(title__contains="cannot be charged").count() == 1
    subscription.refresh_from_db()
    assert subscription.status == Sub.ACTIVE


# --- dunning --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_decline_starts_dunning_with_email_and_alert(demo_world):
    subscription = subscribe(demo_world, "C1004", DECLINING_AMOUNT)
    today = subscription.next_run_on

    summary = subscriptions_bill_due()

    assert summary.declined == 1
    charge = subscription.charges.get()
    assert (charge.status, charge.attempt_count, charge.next_retry_on) == (
        Charge.DECLINED,
        1,
        today + timedelta(days=1),
    )
    assert charge.transaction.status == Transaction.Status.DECLINED
    # Nothing to receipt; the failed charge's status is written back (the demo's declined mapping).
    (posting,) = ErpPosting.objects.all()
    assert (posting.document_type, posting.reference) == ("status_note", charge.transaction.transaction_id)
    subscription.refresh_from_db()
    assert subscription.status == Sub.PAST_DUE
    (email,) = mail.outbox
    assert email.to == ["ar@deltafreight.example"]
    assert "1.12 USD" in email.body and "try again on" in email.body
    assert f"ending in {charge.transaction.last4}" in email.body
    assert not re.search(r"\d{7,}", email.body)  # no card number, not even a partly masked one
    alert = Alert.objects.get(subject_type="subscription", subject_id=str(subscription.pk))
    assert alert.severity == Alert.Severity.WARNING and "past due" in alert.title

    # Not due again before the retry day, and the decline is not repeated.
    assert subscriptions_bill_due().declined == 0
    assert sales_for(charge) == 1


@pytest.mark.django_db(transaction=True)
def test_retries_follow_the_schedule_then_suspend(demo_world):
    subscription = subscribe(demo_world, "C1004", DECLINING_AMOUNT, dunning_schedule_days=[2, 5])
    today = subscription.next_run_on

    assert subscriptions_bill_due().declined == 1
    assert subscription.charges.get().next_retry_on == today + timedelta(days=2)
    assert subscriptions_bill_due(now=days_later(1)).declined == 0  # not yet
    assert subscriptions_bill_due(now=days_later(2)).declined == 1
    assert subscription.charges.get().next_retry_on == today + timedelta(days=5)

    last = subscriptions_bill_due(now=days_later(5))

    assert (last.declined, last.suspended) == (0, 1)
    charge = subscription.charges.get()
    assert (charge.status, charge.attempt_count, charge.next_retry_on) == (Charge.FAILED, 3, None)
    subscription.refresh_from_db()
    assert subscription.status == Sub.SUSPENDED
    assert len(mail.outbox) == 3 and "suspended" in mail.outbox[-1].body
    assert Alert.objects.filter(severity=Alert.Severity.ERROR, title__contains="suspended").count() == 1
    assert sales_for(charge) == 3
    # Suspended: nothing more is attempted, and no new period opens.
    assert subscriptions_bill_due(now=days_later(40)).periods_opened == 0
    assert sales_for(charge) == 3


@pytest.mark.django_db(transaction=True)
def test_successful_retry_makes_the_subscription_active_again(demo_world):
    subscription = subscribe(demo_world, "C1004", DECLINING_AMOUNT)
    subscriptions_bill_due()
    # The customer fixes their card; in the sandbox an amount that approves stands for that.
    SubscriptionCharge.objects.update(amount=Decimal("49.00"))

    retried = subscriptions_bill_due(now=days_later(1))

    assert retried.charged == 1
    charge = subscription.charges.get()
    assert (charge.status, charge.attempt_count, charge.next_retry_on) == (Charge.CHARGED, 2, None)
    assert charge.transaction.status == Transaction.Status.APPROVED
    subscription.refresh_from_db()
    assert subscription.status == Sub.ACTIVE


def test_dunning_offsets_count_from_the_first_decline():
    today = date(2026, 3, 10)
    schedule = (1, 3, 7)
    assert dunning_retry_on(schedule=schedule, declines=1, today=today) == date(2026, 3, 11)
    assert dunning_retry_on(schedule=schedule, declines=2, today=date(2026, 3, 11)) == date(2026, 3, 13)
    assert dunning_retry_on(schedule=schedule, declines=3, today=date(2026, 3, 13)) == date(2026, 3, 17)
    assert dunning_retry_on(schedule=schedule, declines=4, today=date(2026, 3, 17)) is None


# --- periods and the end date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "starts", "expected"),
    [
        ("daily", [date(2024, 2, 28)], date(2024, 2, 29)),
        ("weekly", [date(2025, 12, 29)], date(2026, 1, 5)),
        ("monthly", [date(2024, 1, 31)], date(2024, 2, 29)),
        ("monthly", [date(2025, 1, 31)], date(2025, 2, 28)),
        ("monthly", [date(2024, 2, 29), date(2024, 1, 31)], date(2024, 3, 31)),
        ("monthly", [date(2024, 4, 30), date(2024, 3, 31)], date(2024, 5, 31)),
        ("monthly", [date(2024, 4, 30), date(2024, 3, 30)], date(2024, 5, 30)),
        ("monthly", [date(2023, 2, 28), date(2023, 1, 28)], date(2023, 3, 28)),
        ("monthly", [date(2025, 12, 15)], date(2026, 1, 15)),
        ("quarterly", [date(2025, 11, 30)], date(2026, 2, 28)),
        ("quarterly", [date(2026, 2, 28), date(2025, 11, 30)], date(2026, 5, 30)),
        ("yearly", [date(2024, 2, 29)], date(2025, 2, 28)),
        (
            "yearly",
            [date(2027, 2, 28), date(2026, 2, 28), date(2025, 2, 28), date(2024, 2, 29)],
            date(2028, 2, 29),
        ),
    ],
)
def test_period_after_keeps_the_anchor_day(interval, starts, expected):
    assert (
        period_after(
            period_start=starts[0], interval=interval, anchor_day=anchor_day_from(period_starts=starts)
        )
        == expected
    )


@pytest.mark.django_db
def test_month_end_subscription_walks_jan_31_feb_29_mar_31(monkeypatch):
    subscription = SubscriptionFactory(next_run_on=date(2024, 1, 31), interval="monthly")
    seen = []
    for today in (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)):
        charge = billing.subscription_period_open(subscription=subscription, today=today)
        seen.append(charge.period_start)
        subscription.refresh_from_db()
    assert seen == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert subscription.next_run_on == date(2024, 5, 31)
    # The same period is never opened twice, even if a date is moved back by hand.
    Subscription.objects.filter(pk=subscription.pk).update(next_run_on=date(2024, 4, 30))
    assert billing.subscription_period_open(subscription=subscription, today=date(2024, 5, 1)) is None
    assert subscription.charges.count() == 4


@pytest.mark.django_db
def test_subscription_ends_after_its_end_date_once_nothing_is_owed():
    today = timezone.localdate()
    finished = SubscriptionFactory(next_run_on=today + timedelta(days=20), ends_on=today - timedelta(days=1))
    still_collecting = SubscriptionFactory(
        next_run_on=today + timedelta(days=20), ends_on=today - timedelta(days=1)
    )
    SubscriptionCharge.objects.create(
        subscription=still_collecting, period_start=today - timedelta(days=10), amount=Decimal("49.00")
    )
    within_term = SubscriptionFactory(
        next_run_on=today + timedelta(days=20), ends_on=today + timedelta(days=5)
    )

    summary = subscriptions_bill_due(
        subscription_ids=[within_term.pk, finished.pk]
    )  # no PayTrace call needed

    assert summary.ended == 1
    statuses = dict(Subscription.objects.values_list("pk", "status"))
    assert statuses == {finished.pk: Sub.ENDED, still_collecting.pk: Sub.ACTIVE, within_term.pk: Sub.ACTIVE}


@pytest.mark.django_db
def test_no_period_opens_after_the_end_date():
    today = timezone.localdate()
    subscription = SubscriptionFactory(next_run_on=today, ends_on=today - timedelta(days=1))
    assert billing.subscription_period_open(subscription=subscription, today=today) is None
    assert not subscription.charges.exists()


@pytest.mark.django_db(transaction=True)
def test_demo_subscriptions_one_charged_once_one_in_dunning(demo_world):
    from portal.demo import demo_subscriptions_ensure

    demo_subscriptions_ensure(connections=demo_world["connections"], customers=demo_world["customers"])
    demo_subscriptions_ensure(connections=demo_world["connections"], customers=demo_world["customers"])

    summary = subscriptions_bill_due()
    subscriptions_bill_due()

    assert (summary.periods_opened, summary.charged, summary.declined) == (2, 1, 1)
    statuses = dict(Subscription.objects.values_list("paytrace_customer_id", "status"))
    assert statuses == {"C1001": Sub.ACTIVE, "C1004": Sub.PAST_DUE}
    assert PtTransaction.objects.filter(invoice_id__startswith="SUB-").count() == 2


# --- command, task, schedule, admin ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_command_charges_and_prints_a_summary(demo_world, capsys):
    subscription = subscribe(demo_world)
    call_command("bill_subscriptions", "--subscription", str(subscription.pk))
    out = capsys.readouterr().out
    assert "charges: 1/1" in out and "charged 1" in out
    with pytest.raises(CommandError, match="no subscription with id 999999"):
        call_command("bill_subscriptions", "--subscription", "999999")


@pytest.mark.django_db(transaction=True)
def test_scheduled_task_bills_due_subscriptions(demo_world):
    assert any(func == "payments.tasks.subscriptions_bill" for _, func, _ in SCHEDULES)
    subscribe(demo_world)
    assert tasks.subscriptions_bill()["charged"] == 1


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


def run_action(client, action: str, subscriptions, reason: str = ""):
    url = reverse("admin:payments_subscription_changelist")
    data = {"action": action, "_selected_action": [s.pk for s in subscriptions]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200 and b"Yes," in confirm.content  # a confirmation page first
    return client.post(url, {**data, "confirmed": "yes", "reason": reason}, follow=True)


@pytest.mark.django_db(transaction=True)
def test_admin_charge_now_acts_only_on_due_subscriptions(demo_world, admin_client):
    due = subscribe(demo_world)
    not_yet = subscribe(demo_world, "C1002", next_run_on=timezone.localdate() + timedelta(days=3))
    response = run_action(admin_client, "subscriptions_charge_now_action", [due, not_yet])
    assert b"1 due: 1 period(s) opened; charged 1" in response.content
    assert due.charges.get().status == Charge.CHARGED
    assert not not_yet.charges.exists()
    assert AuditEvent.objects.filter(action="subscription.charge_now").count() == 1


@pytest.mark.django_db
def test_admin_cancel_and_resume_leave_audit_events(admin_client):
    active = SubscriptionFactory()
    suspended = SubscriptionFactory(
        status=Sub.SUSPENDED, next_run_on=timezone.localdate() - timedelta(days=40)
    )

    run_action(admin_client, "subscriptions_cancel_action", [active], reason="customer left")
    run_action(admin_client, "subscriptions_resume_action", [suspended, active], reason="card updated")

    active.refresh_from_db()
    suspended.refresh_from_db()
    assert active.status == Sub.CANCELLED
    # Resumed from today: the periods missed while suspended are not charged in a burst.
    assert (suspended.status, suspended.next_run_on) == (Sub.ACTIVE, timezone.localdate())
    actions = set(AuditEvent.objects.values_list("action", "subject_id", "reason"))
    assert actions == {
        ("subscription.cancel", str(active.pk), "customer left"),
        ("subscription.resume", str(suspended.pk), "card updated"),
    }


@pytest.mark.django_db
def test_admin_cancel_requires_a_reason(admin_client):
    subscription = SubscriptionFactory()
    run_action(admin_client, "subscriptions_cancel_action", [subscription], reason="")
    subscription.refresh_from_db()
    assert subscription.status == Sub.ACTIVE and not AuditEvent.objects.exists()
