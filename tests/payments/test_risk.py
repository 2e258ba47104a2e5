"""Risk scoring: each rule and its reason, the policy, the anomaly model, the hold and the review queue."""

import itertools
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from sklearn.ensemble import IsolationForest

from integrations.models import AuditEvent, ErpPosting
from integrations.outbox.poster import postings_post_due
from payments.admin.risk import RiskPolicyForm
from payments.models import RiskAssessment, RiskModelVersion, Transaction
from payments.risk.features import queryset_features, transaction_features
from payments.risk.model import (
    FEATURE_NAMES,
    PARAMETERS,
    anomaly_model_dump,
    anomaly_model_from_forest,
    anomaly_model_load,
)
from payments.risk.rules import CHECKS, DEFAULT_RULES, RiskRulesInvalid, risk_rules_resolve
from payments.risk.services import (
    RiskDecisionRefused,
    RiskModelTrainingRefused,
    risk_assessment_approve,
    risk_assessment_reject,
    risk_model_train,
    risk_policy_get,
    transaction_postings_held,
    transaction_risk_assess,
)
from payments.services.pipeline import transaction_decide
from portal.roles import AUDITOR, FINANCE_REVIEWER
from tests.factories import ConnectionFactory, CustomerFactory, TransactionFactory, UserFactory

Status = RiskAssessment.Status
_ips = itertools.count(1)


class History:
    """Transactions on one PayTrace connection, a minute apart unless told otherwise."""

    def __init__(self):
        self.connection = ConnectionFactory()
        self.at = timezone.now() - timedelta(days=1)

    def add(self, *, minutes: float = 1, **fields) -> Transaction:
        self.at += timedelta(minutes=minutes)
        fields.setdefault("ip_address", f"198.51.100.{next(_ips) % 250 + 1}")
        fields.setdefault("last4", f"{next(_ips) % 10000:04d}")
        return TransactionFactory(connection=self.connection, occurred_at=self.at, **fields)


def codes(assessment: RiskAssessment) -> dict[str, dict]:
    return {reason["code"]: reason for reason in assessment.reasons}


# --- the rules ----------------------------------------------------------------------------------


def _velocity_customer(h: History) -> Transaction:
    customer = CustomerFactory()
    for _ in range(5):
        h.add(customer=customer)
    return h.add(customer=customer)


def _velocity_card(h: History) -> Transaction:
    for _ in range(5):
        h.add(card_brand="MASTERCARD", last4="4444")
    return h.add(card_brand="MASTERCARD", last4="4444")


def _velocity_ip(h: History) -> Transaction:
    for _ in range(10):
        h.add(ip_address="203.0.113.7")
    return h.add(ip_address="203.0.113.7")


def _amount_outlier(h: History) -> Transaction:
    customer = CustomerFactory()
    for amount in ("90.00", "100.00", "110.00"):
        h.add(minutes=600, customer=customer, amount=Decimal(amount))
    return h.add(minutes=600, customer=customer, amount=Decimal("1200.00"))


def _card_testing(h: History) -> Transaction:
    for amount in ("1.00", "1.12", "0.50"):
        h.add(ip_address="203.0.113.9", amount=Decimal(amount), status="declined")
    return h.add(ip_address="203.0.113.9", amount=Decimal("1.00"))


def _refund(h: History, *, amount: str, minutes: float) -> Transaction:
    sale = h.add(amount=Decimal("100.00"), status="settled")
    return h.add(minutes=minutes, transaction_type="refund", original=sale, amount=Decimal(amount))


RULE_CASES = {
    "velocity_customer": (_velocity_customer, "6 transactions from this customer in 60 min (limit 5)"),
    "velocity_card": (_velocity_card, "6 transactions on card MASTERCARD 4444 in 60 min (limit 5)"),
    "velocity_ip": (_velocity_ip, "11 transactions from IP 203.0.113.7 in 60 min (limit 10)"),
    "amount_outlier": (
        _amount_outlier,
        "1200.00 USD is 12.0× the customer's median of 100.00 over 3 payments (limit 10×)",
    ),
    "avs_mismatch": (
        lambda h: h.add(avs_response="No Match"),
        "address verification (AVS) answered No Match",
    ),
    "csc_mismatch": (lambda h: h.add(csc_response="NO  MATCH"), "card security code (CSC) answered No Match"),
    "card_testing": (_card_testing, "3 declines of 5.00 or less from card VISA"),
    "refund_exceeds_sale": (lambda h: _refund(h, amount="150.00", minutes=600), "add up to 150% of it"),
    "refund_after_sale": (lambda h: _refund(h, amount="100.00", minutes=4), "refunded 4 min after the sale"),
    "refund_without_sale": (lambda h: h.add(transaction_type="refund"), "refund not linked to any sale"),
    "new_customer_large": (
        lambda h: h.add(customer=CustomerFactory(), amount=Decimal("2500.00")),
        "first payment of this customer is 2500.00 USD (limit 1000.00)",
    ),
    "country_currency": (
        lambda h: h.add(billing_country="FR", currency="USD"),
        "billing country FR does not use USD",
    ),
}


def test_every_rule_has_a_test_case():
    assert RULE_CASES.keys() == DEFAULT_RULES.keys() == CHECKS.keys()


@pytest.mark.django_db
@pytest.mark.parametrize("rule", RULE_CASES)
def test_each_rule_fires_with_its_reason(rule):
    build, detail = RULE_CASES[rule]
    target = build(History())
    assessment = transaction_risk_assess(transaction=target)
    fired = codes(assessment)
    assert rule in fired, assessment.reasons
    assert detail in fired[rule]["detail"]
    assert fired[rule]["points"] == DEFAULT_RULES[rule]["weight"]
    assert 0 <= assessment.score <= 100
    assert assessment.score == min(100, sum(reason["points"] for reason in assessment.reasons))


@pytest.mark.django_db
def test_an_ordinary_payment_scores_zero_and_is_cleared():
    h = History()
    customer = CustomerFactory()
    for _ in range(4):
        h.add(minutes=3000, customer=customer, avs_response="Full Exact Match", csc_response="Match")
    assessment = transaction_risk_assess(transaction=h.add(minutes=3000, customer=customer))
    assert (assessment.score, assessment.reasons, assessment.status) == (0, [], Status.CLEARED)


@pytest.mark.django_db
def test_the_score_is_capped_at_100_and_flagged_at_the_threshold():
    h = History()
    _card_testing(h)
    risky = h.add(
        ip_address="203.0.113.9",
        amount=Decimal("1.00"),
        avs_response="No Match",
        csc_response="No Match",
        billing_country="RU",
    )
    assessment = transaction_risk_assess(transaction=risky)
    assert sum(reason["points"] for reason in assessment.reasons) > 100
    assert (assessment.score, assessment.status) == (100, Status.FLAGGED)
    assert [reason["points"] for reason in assessment.reasons] == sorted(
        (reason["points"] for reason in assessment.reasons), reverse=True
    )


@pytest.mark.django_db
def test_thresholds_and_rule_settings_are_editable_in_the_policy():
    h = History()
    policy = risk_policy_get()
    mismatch = h.add(avs_response="No Match", csc_response="No Match")  # 25 + 35 = 60, the default threshold
    assert transaction_risk_assess(transaction=mismatch).status == Status.FLAGGED
    policy.flag_threshold = 61
    policy.rules = {"avs_mismatch": {"weight": 0}, "velocity_ip": {"limit": 2}}
    policy.save()
    again = h.add(avs_response="No Match", csc_response="No Match", ip_address="203.0.113.5")
    assessment = transaction_risk_assess(transaction=again)
    assert set(codes(assessment)) == {"csc_mismatch"} and assessment.status == Status.CLEARED
    h.add(ip_address="203.0.113.5")
    third = h.add(ip_address="203.0.113.5")
    assert (
        "3 transactions from IP 203.0.113.5 in 60 min (limit 2)"
        in codes(transaction_risk_assess(transaction=third))["velocity_ip"]["detail"]
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"velocity_ipp": {"limit": 2}}, "unknown rule 'velocity_ipp'"),
        ({"velocity_ip": {"limt": 2}}, "unknown setting velocity_ip.limt"),
        ({"velocity_ip": {"weight": 101}}, "velocity_ip.weight must be a number from 0 to 100"),
        ({"velocity_ip": {"limit": 2.5}}, "velocity_ip.limit must be a whole number"),
        ({"card_testing": {"small_amount": "cheap"}}, "card_testing.small_amount must be a number"),
        ({"velocity_ip": 3}, "velocity_ip must be an object"),
        ({"country_currency": {"countries": {"USD": "US"}}}, "countries must map a currency"),
    ],
)
def test_malformed_rules_are_refused_with_a_message_naming_them(rules, message):
    with pytest.raises(RiskRulesInvalid, match=message):
        risk_rules_resolve(rules)


@pytest.mark.django_db
def test_the_policy_form_refuses_bad_rules():
    form = RiskPolicyForm(
        data={"flag_threshold": 60, "model_weight": 30, "rules": '{"velocity_ip": {"limt": 2}}'}
    )
    assert not form.is_valid()
    assert "unknown setting velocity_ip.limt" in str(form.errors["rules"])
    good = RiskPolicyForm(
        data={"flag_threshold": 50, "model_weight": 30, "rules": '{"velocity_ip": {"limit": 3}}'}
    )
    assert good.is_valid(), good.errors


@pytest.mark.django_db
def test_one_transaction_and_the_whole_history_get_the_same_features():
    h = History()
    customer = CustomerFactory()
    _card_testing(h)
    for amount in ("20.00", "25.00", "400.00"):
        h.add(customer=customer, amount=Decimal(amount), ip_address="203.0.113.9")
    sale = h.add(customer=customer, status="settled")
    h.add(transaction_type="refund", original=sale, amount=Decimal("60.00"), customer=customer)
    h.add(transaction_type="refund", original=sale, amount=Decimal("60.00"), customer=customer)
    settings = risk_rules_resolve({}).feature_settings
    streamed = dict(queryset_features(Transaction.objects.all(), settings=settings))
    for txn in Transaction.objects.all():
        assert transaction_features(transaction=txn, settings=settings) == streamed[txn.pk], txn


# --- the anomaly model --------------------------------------------------------------------------


def ordinary_history(count: int) -> History:
    """Customers paying similar amounts a day or so apart, as most of a merchant's history looks."""
    h = History()
    h.at = timezone.now() - timedelta(days=count // 10 + 2)
    customers = [CustomerFactory() for _ in range(10)]
    rows = []
    for n in range(count):
        h.at += timedelta(hours=2)
        rows.append(
            Transaction(
                connection=h.connection,
                transaction_id=f"H{n}",
                transaction_type="sale",
                status="settled",
                amount=Decimal(80 + n % 7 * 5),
                customer=customers[n % 10],
                card_brand="VISA",
                last4=f"{n % 10:04d}",
                ip_address=f"192.0.2.{n % 10 + 1}",
                billing_country="US",
                avs_response="Full Exact Match",
                csc_response="Match",
                occurred_at=h.at,
            )
        )
    Transaction.objects.bulk_create(rows)
    return h


@pytest.mark.django_db
def test_the_model_trains_is_stored_with_version_and_date_and_scores():
    h = ordinary_history(300)
    with CaptureQueriesContext(db_connection) as queries:
        first = risk_model_train(days=90, min_rows=100)
    assert len(queries) < 12, [q["sql"] for q in queries.captured_queries]  # no query per row
    assert (first.version, first.algorithm, first.training_rows, first.is_active) == (
        "v1",
        "IsolationForest",
        300,
        True,
    )
    assert timezone.now() - first.trained_at < timedelta(minutes=1)
    assert first.feature_names[0] == "log_amount" and first.artifact
    second = risk_model_train(days=90, min_rows=100)
    first.refresh_from_db()
    assert (second.version, second.is_active, first.is_active) == ("v2", True, False)

    ordinary = h.add(customer=h.connection.transactions.first().customer, amount=Decimal("90.00"))
    assert transaction_risk_assess(transaction=ordinary).model_version == "v2"
    odd = h.add(
        amount=Decimal("9800.00"), transaction_type="refund", billing_country="NG", csc_response="No Match"
    )
    assessment = transaction_risk_assess(transaction=odd)
    assert assessment.model_version == "v2"
    anomaly = codes(assessment)["anomaly"]
    assert 0 < anomaly["points"] <= risk_policy_get().model_weight
    assert "model v2" in anomaly["detail"]


def test_the_flattened_trees_answer_exactly_as_the_forest_and_survive_storage():
    rng = np.random.default_rng(3)
    history = np.vstack(
        [rng.normal(size=(2000, len(FEATURE_NAMES))), rng.normal(4, 1, (20, len(FEATURE_NAMES)))]
    )
    history[:, 6] = np.round(history[:, 6])  # ties on a split value go left in both
    forest = IsolationForest(**PARAMETERS).fit(history)
    model = anomaly_model_from_forest(forest, full_points_at=-0.1)
    probe = np.vstack([history[:300], rng.normal(2, 3, (300, len(FEATURE_NAMES)))])
    assert np.allclose(model.decisions(probe), forest.decision_function(probe), rtol=0, atol=1e-12)
    stored = anomaly_model_load(anomaly_model_dump(model))
    assert np.array_equal(stored.decisions(probe), model.decisions(probe))
    points = stored.points(vectors=probe, weight=30)
    assert points.min() == 0 and 0 < points.max() <= 30


@pytest.mark.django_db
def test_train_command_reports_and_refuses_too_little_history():
    ordinary_history(60)
    with pytest.raises(CommandError, match="only 60 transactions in the last 180 days; at least 200"):
        call_command("train_risk_model")
    assert not RiskModelVersion.objects.exists()
    with pytest.raises(RiskModelTrainingRefused):
        risk_model_train(min_rows=61)


@pytest.mark.django_db
def test_train_command_trains(capsys):
    ordinary_history(120)
    call_command("train_risk_model", "--min-rows", "100")
    out = capsys.readouterr().out
    assert "Trained IsolationForest v1 on 120 transactions" in out and "now the active model" in out


# --- scored once, decisions, the queue -----------------------------------------------------------


def reviewer():
    user = UserFactory(username="rita")
    user.groups.add(Group.objects.get(name=FINANCE_REVIEWER))
    return user


@pytest.mark.django_db
def test_scored_once_so_a_later_change_never_flips_a_decision():
    h = History()
    txn = h.add(avs_response="No Match", csc_response="No Match")
    flagged = transaction_risk_assess(transaction=txn)
    risk_assessment_reject(assessment=flagged, actor=reviewer(), reason="stolen card")
    Transaction.objects.filter(pk=txn.pk).update(status="settled", avs_response="Full Exact Match")
    txn.refresh_from_db()
    again = transaction_risk_assess(transaction=txn)
    assert (again.pk, again.status, again.score) == (flagged.pk, Status.REJECTED, flagged.score)
    assert RiskAssessment.objects.count() == 1


@pytest.mark.django_db
def test_a_refund_of_a_sale_under_review_is_held_with_it():
    h = History()
    sale = h.add(avs_response="No Match", csc_response="No Match", status="settled")
    flagged = transaction_risk_assess(transaction=sale)
    refund = h.add(minutes=600, transaction_type="refund", original=sale, amount=Decimal("10.00"))
    own = transaction_risk_assess(transaction=refund)
    assert own.status == Status.CLEARED
    assert transaction_postings_held(transaction=refund, assessment=own)
    risk_assessment_approve(assessment=flagged, actor=None, reason="verified")
    assert not transaction_postings_held(transaction=refund, assessment=own)


@pytest.mark.django_db
def test_decisions_need_a_reason_and_a_flagged_assessment():
    h = History()
    cleared = transaction_risk_assess(transaction=h.add())
    with pytest.raises(RiskDecisionRefused, match="is cleared"):
        risk_assessment_approve(assessment=cleared, actor=None, reason="fine")
    flagged = transaction_risk_assess(transaction=h.add(avs_response="No Match", csc_response="No Match"))
    with pytest.raises(RiskDecisionRefused, match="reason is required"):
        risk_assessment_reject(assessment=flagged, actor=None, reason=" ")
    approved = risk_assessment_approve(assessment=flagged, actor=None, reason="customer called")
    with pytest.raises(RiskDecisionRefused, match="approved by reviewer"):
        risk_assessment_reject(assessment=approved, actor=None, reason="changed my mind")


@pytest.mark.django_db
def test_the_queue_shows_flagged_payments_by_score_with_readable_reasons(client):
    h = History()
    low = transaction_risk_assess(transaction=h.add(avs_response="No Match", csc_response="No Match"))
    _card_testing(h)
    high = transaction_risk_assess(transaction=h.add(ip_address="203.0.113.9", amount=Decimal("2.00")))
    cleared = transaction_risk_assess(transaction=h.add())
    client.force_login(reviewer())
    url = reverse("admin:payments_riskassessment_changelist")
    page = client.get(url).content.decode()
    assert page.index(high.transaction.transaction_id) < page.index(low.transaction.transaction_id)
    assert cleared.transaction.transaction_id not in page
    assert "Card testing +70" in page and "CSC mismatch +35; AVS mismatch +25" in page
    linked = client.get(url, {"status__exact": "flagged"}).content.decode()  # the dashboard's link
    assert high.transaction.transaction_id in linked and cleared.transaction.transaction_id not in linked
    everything = client.get(url, {"status__exact": "all"}).content.decode()
    assert cleared.transaction.transaction_id in everything
    detail = client.get(reverse("admin:payments_riskassessment_change", args=[high.pk])).content.decode()
    assert "<strong>Card testing</strong> +70: 3 declines of 5.00 or less" in detail


def admin_action(client, assessment: RiskAssessment, action: str, reason: str):
    return client.post(
        reverse("admin:payments_riskassessment_changelist"),
        {"action": action, "_selected_action": [assessment.pk], "confirmed": "yes", "reason": reason},
    )


@pytest.mark.django_db
def test_an_auditor_sees_the_queue_but_cannot_decide(client):
    flagged = transaction_risk_assess(
        transaction=History().add(avs_response="No Match", csc_response="No Match")
    )
    auditor = UserFactory(username="audrey")
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    client.force_login(auditor)
    page = client.get(reverse("admin:payments_riskassessment_changelist")).content.decode()
    assert flagged.transaction.transaction_id in page and 'value="approve"' not in page
    admin_action(client, flagged, "approve", "looks fine")
    flagged.refresh_from_db()
    assert flagged.status == Status.FLAGGED
    assert not AuditEvent.objects.exists()


# --- the hold, end to end against the Sage 300 sandbox ---------------------------------------------


def demo_payment(demo_world, *, amount: str, invoice: str, customer: str, **fields) -> Transaction:
    return TransactionFactory(
        connection=demo_world["connections"]["paytrace"],
        customer=demo_world["customers"][customer],
        amount=Decimal(amount),
        invoice_reference=invoice,
        **fields,
    )


@pytest.mark.django_db(transaction=True)
def test_flagged_is_held_until_approved_then_posts_rejected_stays_held_and_cleared_posts(demo_world, client):
    Status_ = ErpPosting.Status
    flagged = demo_payment(
        demo_world,
        amount="1250.00",
        invoice="INV-5001",
        customer="C1001",
        avs_response="No Match",
        csc_response="No Match",
    )
    rejected = demo_payment(
        demo_world,
        amount="50.00",
        invoice="WEB-1002",
        customer="C1002",
        avs_response="No Match",
        csc_response="No Match",
    )
    cleared = demo_payment(demo_world, amount="100.00", invoice="", customer="C1003", ip_address="192.0.2.50")
    for txn in (flagged, rejected, cleared):
        transaction_decide(txn)
    held, also_held, pending = (
        ErpPosting.objects.get(transaction=txn) for txn in (flagged, rejected, cleared)
    )
    assert (held.status, also_held.status, pending.status) == (Status_.HELD, Status_.HELD, Status_.PENDING)
    assert postings_post_due(time_budget_seconds=30).posted == 1  # the cleared one only
    pending.refresh_from_db()
    assert pending.status == Status_.POSTED, pending.last_error

    client.force_login(reviewer())
    confirm = client.post(
        reverse("admin:payments_riskassessment_changelist"),
        {"action": "approve", "_selected_action": [flagged.risk.pk]},
    )
    assert b"Reason (kept in the audit trail)" in confirm.content
    assert admin_action(client, flagged.risk, "approve", "customer confirmed by phone").status_code == 302
    assert admin_action(client, rejected.risk, "reject", "card reported stolen").status_code == 302
    held.refresh_from_db()
    assert held.status == Status_.PENDING
    transaction_decide(flagged)  # a later sync of the same transaction changes nothing
    postings_post_due(time_budget_seconds=30)
    held.refresh_from_db()
    also_held.refresh_from_db()
    assert held.status == Status_.POSTED and held.erp_document_number, held.last_error
    assert also_held.status == Status_.HELD

    flagged.risk.refresh_from_db()
    rejected.risk.refresh_from_db()
    assert (flagged.risk.status, flagged.risk.decided_by.username) == (Status.APPROVED, "rita")
    assert (rejected.risk.status, rejected.risk.decision_reason) == (Status.REJECTED, "card reported stolen")
    trail = set(
        AuditEvent.objects.values_list("action", "subject_type", "subject_id", "reason", "actor__username")
    )
    assert trail == {
        ("risk.approve", "riskassessment", str(flagged.risk.pk), "customer confirmed by phone", "rita"),
        ("risk.reject", "riskassessment", str(rejected.risk.pk), "card reported stolen", "rita"),
        (
            "posting.release",
            "erpposting",
            str(held.pk),
            "risk review approved: customer confirmed by phone",
            "rita",
        ),
    }


@pytest.mark.django_db(transaction=True)
def test_a_refund_is_scored_on_creation_and_a_large_one_is_held(demo_world):
    sale = demo_payment(demo_world, amount="100.00", invoice="", customer="C1003", status="settled")
    refund = TransactionFactory(
        connection=sale.connection,
        transaction_type="refund",
        original=sale,
        customer=sale.customer,
        amount=Decimal("180.00"),
        occurred_at=sale.occurred_at + timedelta(minutes=3),
    )
    transaction_decide(refund)
    assert set(codes(refund.risk)) >= {"refund_exceeds_sale", "refund_after_sale"}
    assert refund.risk.status == Status.FLAGGED
    assert ErpPosting.objects.get(transaction=refund).status == ErpPosting.Status.HELD


@pytest.mark.django_db(transaction=True)
def test_reject_and_refund_voids_in_paytrace_and_cancels_the_held_receipt(demo_world, client):
    from integrations.paytrace.client import PayTraceClient
    from integrations.paytrace.types import BillingAddress, Card
    from payments.services.paytrace import paytrace_record_ingest

    paytrace = demo_world["connections"]["paytrace"]
    paytrace_client = PayTraceClient.from_connection(paytrace)
    result = paytrace_client.sale(
        amount=Decimal("310.00"),
        source=Card(number="4012000098765439", expiration_month=12, expiration_year=2030, csc="123"),
        billing_address=BillingAddress(name="Mallory", zip="10001", country="US"),  # no street: AVS No Match
    )
    raw = paytrace_client.transaction_export_by_id(transaction_id=result.transaction_id)
    txn = paytrace_record_ingest(
        connection=paytrace, client=paytrace_client, raw=raw, on_change=transaction_decide
    ).transaction
    assert set(codes(txn.risk)) == {"avs_mismatch", "csc_mismatch"} and txn.risk.status == Status.FLAGGED
    receipt = ErpPosting.objects.get(transaction=txn)
    assert receipt.status == ErpPosting.Status.HELD

    client.force_login(reviewer())
    assert admin_action(client, txn.risk, "reject_and_refund", "card-not-present fraud").status_code == 302
    txn.refresh_from_db()
    receipt.refresh_from_db()
    txn.risk.refresh_from_db()
    assert (txn.status, receipt.status, txn.risk.status) == ("voided", "cancelled", Status.REJECTED)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"risk.reject", "transaction.void", "posting.cancel"} <= actions


@pytest.mark.django_db(transaction=True)
def test_the_demo_plants_a_card_testing_burst_the_first_sync_flags_and_an_approval_posts(demo_world):
    from customers.paytrace import paytrace_customers_sync
    from payments.services.paytrace import paytrace_transactions_sync
    from portal import demo

    paytrace = demo_world["connections"]["paytrace"]
    demo.demo_payments_ensure()
    paytrace_customers_sync(connection=paytrace)
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)

    flagged = RiskAssessment.objects.filter(status=Status.FLAGGED).select_related("transaction")
    by_amount = {assessment.transaction.amount: assessment for assessment in flagged}
    burst_sale = by_amount[Decimal("1.00")]
    assert burst_sale.transaction.status == "approved"
    assert "4 declines of 5.00 or less from card" in codes(burst_sale)["card_testing"]["detail"]
    assert "IP 203.0.113.66" in codes(burst_sale)["card_testing"]["detail"]
    stranger = by_amount[Decimal("2400.00")]
    assert {"avs_mismatch", "csc_mismatch", "new_customer_large"} <= set(codes(stranger))
    ordinary = RiskAssessment.objects.filter(transaction__amount__in=[Decimal("1250.00"), Decimal("50.00")])
    assert {assessment.status for assessment in ordinary} == {Status.CLEARED}

    receipt = ErpPosting.objects.get(transaction=stranger.transaction)
    assert receipt.status == ErpPosting.Status.HELD
    risk_assessment_approve(
        assessment=stranger, actor=reviewer(), reason="C1004 confirmed the order by phone"
    )
    postings_post_due(time_budget_seconds=30)
    receipt.refresh_from_db()
    assert receipt.status == ErpPosting.Status.POSTED, receipt.last_error
