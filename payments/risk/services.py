"""Risk writes: score a new transaction once, decide a flagged one, train the anomaly model."""

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from integrations.audit import audit_record
from integrations.models import ErpPosting
from integrations.outbox.services import posting_release
from payments.models import RiskAssessment, RiskModelVersion, RiskPolicy, Transaction
from payments.risk.features import queryset_features, transaction_features
from payments.risk.model import (
    ALGORITHM,
    FEATURE_NAMES,
    PARAMETERS,
    anomaly_model_dump,
    anomaly_model_fit,
    feature_vector,
)
from payments.risk.rules import anomaly_reason, risk_rules_resolve, rules_evaluate, score_total
from payments.risk.selectors import risk_model_active
from portal.lifecycle import status_transition

Status = RiskAssessment.Status
# ERP postings of a transaction in these states wait for a reviewer.
HOLDING_STATUSES = frozenset({Status.FLAGGED, Status.REJECTED})
TRAINING_PROGRESS_EVERY = 10_000


class RiskDecisionRefused(Exception):
    pass


class RiskModelTrainingRefused(Exception):
    pass


def risk_policy_get() -> RiskPolicy:
    """The one policy row, created with the model defaults the first time it is needed."""
    policy = RiskPolicy.objects.order_by("pk").first()
    return policy if policy is not None else RiskPolicy.objects.create()


def transaction_risk_assess(*, transaction: Transaction) -> RiskAssessment:
    """Score a transaction the first time it is seen and keep that assessment: later status changes of
    the same transaction reuse it, so a reviewer's decision is never overturned by a re-score."""
    existing = RiskAssessment.objects.filter(transaction=transaction).first()
    if existing is not None:
        return existing
    policy = risk_policy_get()
    rules = risk_rules_resolve(policy.rules)
    features = transaction_features(transaction=transaction, settings=rules.feature_settings)
    reasons = rules_evaluate(features=features, rules=rules)
    model_version = ""
    active = risk_model_active()
    if active is not None and policy.model_weight:
        version, model = active
        model_version = version.version
        vectors = np.array([feature_vector(features)])
        points = int(model.points(vectors=vectors, weight=policy.model_weight)[0])
        if points:
            reasons.append(anomaly_reason(points=points, version=version.version))
    score = score_total(reasons)
    try:
        with db_transaction.atomic():
            return RiskAssessment.objects.create(
                transaction=transaction,
                score=score,
                reasons=[reason.as_json() for reason in sorted(reasons, key=lambda r: -r.points)],
                model_version=model_version,
                status=Status.FLAGGED if score >= policy.flag_threshold else Status.CLEARED,
            )
    except IntegrityError:  # a concurrent decide of the same transaction scored it first: keep that one
        return RiskAssessment.objects.get(transaction=transaction)


def transaction_postings_held(*, transaction: Transaction, assessment: RiskAssessment) -> bool:
    """Hold a transaction's ERP documents while it, or the sale it refunds, waits for or failed review:
    the ERP should not see a credit memo for a receipt it was never given."""
    if assessment.status in HOLDING_STATUSES:
        return True
    return (
        bool(transaction.original_id)
        and RiskAssessment.objects.filter(
            transaction_id=transaction.original_id, status__in=HOLDING_STATUSES
        ).exists()
    )


def _decide(
    *, assessment: RiskAssessment, to_status: str, actor: AbstractBaseUser | None, reason: str
) -> RiskAssessment:
    if not reason.strip():
        raise RiskDecisionRefused("a reason is required")
    assessment = (
        RiskAssessment.objects.select_for_update(of=("self",))
        .select_related("transaction")
        .get(pk=assessment.pk)
    )
    if to_status not in RiskAssessment.TRANSITIONS[assessment.status]:
        state = assessment.get_status_display().lower()
        raise RiskDecisionRefused(f"transaction {assessment.transaction.transaction_id} is {state}")
    decided_by = actor if actor is not None and actor.is_authenticated else None
    status_transition(
        instance=assessment,
        to_status=to_status,
        decided_by=decided_by,
        decided_at=timezone.now(),
        decision_reason=reason,
    )
    audit_record(
        action=f"risk.{'approve' if to_status == Status.APPROVED else 'reject'}",
        subject=assessment,
        actor=actor,
        reason=reason,
        data={"transaction_id": assessment.transaction.transaction_id, "score": assessment.score},
    )
    return assessment


def risk_assessment_approve(
    *, assessment: RiskAssessment, actor: AbstractBaseUser | None, reason: str
) -> RiskAssessment:
    """Approve a flagged (or earlier rejected) transaction: its held ERP postings are released and post,
    with those of its refunds unless a refund waits for a review of its own."""
    with db_transaction.atomic():
        assessment = _decide(assessment=assessment, to_status=Status.APPROVED, actor=actor, reason=reason)
        sale_id = assessment.transaction_id
        held = (
            ErpPosting.objects.filter(status=ErpPosting.Status.HELD)
            .filter(Q(transaction_id=sale_id) | Q(transaction__original_id=sale_id))
            .exclude(transaction__original_id=sale_id, transaction__risk__status__in=HOLDING_STATUSES)
        )
        for posting in held.order_by("pk"):
            posting_release(posting=posting, actor=actor, reason=f"risk review approved: {reason}")
    return assessment


def risk_assessment_reject(
    *, assessment: RiskAssessment, actor: AbstractBaseUser | None, reason: str
) -> RiskAssessment:
    """Reject a flagged transaction: its ERP postings stay held, so nothing reaches the books."""
    with db_transaction.atomic():
        return _decide(assessment=assessment, to_status=Status.REJECTED, actor=actor, reason=reason)


def risk_model_train(
    *, days: int = 180, min_rows: int = 200, progress: Callable[[int], None] | None = None
) -> RiskModelVersion:
    """Fit the anomaly model on the last `days` of transactions, store it as a new version and make it
    the active one. Features come from one streamed query over the history (no query per row)."""
    rules = risk_rules_resolve(risk_policy_get().rules)
    trained_at = timezone.now()
    history = Transaction.objects.filter(occurred_at__gte=trained_at - timedelta(days=days))
    vectors = []
    for count, (_, features) in enumerate(queryset_features(history, settings=rules.feature_settings), 1):
        vectors.append(feature_vector(features))
        if progress is not None and count % TRAINING_PROGRESS_EVERY == 0:
            progress(count)
    if len(vectors) < min_rows:
        raise RiskModelTrainingRefused(
            f"only {len(vectors)} transactions in the last {days} days; at least {min_rows} are needed"
        )
    model, metrics = anomaly_model_fit(vectors=np.array(vectors))
    with db_transaction.atomic():
        RiskModelVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
        return RiskModelVersion.objects.create(
            version=f"v{RiskModelVersion.objects.count() + 1}",
            algorithm=ALGORITHM,
            trained_at=trained_at,
            training_rows=len(vectors),
            feature_names=list(FEATURE_NAMES),
            parameters={**PARAMETERS, "days": days, "rules": rules.parameters},
            metrics=metrics,
            artifact=anomaly_model_dump(model),
            is_active=True,
        )
