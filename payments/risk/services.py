"""Risk writes: score a new transaction once, decide a flagged one, train the anomaly model."""

from collections.abc import Callable
from dataclasses import dataclass
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
from payments.risk.features import (
    TransactionFeatures,
    queryset_features,
    transaction_features,
    transactions_features,
)
from payments.risk.model import (
    ALGORITHM,
    FEATURE_NAMES,
    PARAMETERS,
    AnomalyModel,
    anomaly_model_dump,
    anomaly_model_fit,
    feature_vector,
)
from payments.risk.rules import (
    RiskRules,
    anomaly_reason,
    risk_rules_resolve,
    rules_evaluate,
    score_total,
)
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
    scoring = _Scoring.read()
    features = transaction_features(transaction=transaction, settings=scoring.rules.feature_settings)
    (assessment,) = scoring.assessments(transactions=[transaction], features={transaction.pk: features})
    try:
        with db_transaction.atomic():
            assessment.save(force_insert=True)
            return assessment
    except IntegrityError:  # a concurrent decide of the same transaction scored it first: keep that one
        return RiskAssessment.objects.get(transaction=transaction)


def transactions_risk_assess(*, transactions: list[Transaction]) -> dict[int, RiskAssessment]:
    """`transaction_risk_assess` for a batch, by transaction pk, in a fixed number of queries: the policy
    and the model read once, the features set-based, the new assessments inserted together. Meant for
    transactions created in the caller's database transaction, which nobody else can be scoring."""
    assessments = {a.transaction_id: a for a in RiskAssessment.objects.filter(transaction__in=transactions)}
    fresh = [transaction for transaction in transactions if transaction.pk not in assessments]
    if fresh:
        scoring = _Scoring.read()
        features = transactions_features(transactions=fresh, settings=scoring.rules.feature_settings)
        created = RiskAssessment.objects.bulk_create(
            scoring.assessments(transactions=fresh, features=features)
        )
        assessments.update({assessment.transaction_id: assessment for assessment in created})
    return assessments


@dataclass(frozen=True)
class _Scoring:
    """What scoring reads once, however many transactions it scores."""

    policy: RiskPolicy
    rules: RiskRules
    model: tuple[RiskModelVersion, AnomalyModel] | None

    @classmethod
    def read(cls) -> "_Scoring":
        policy = risk_policy_get()
        return cls(
            policy=policy,
            rules=risk_rules_resolve(policy.rules),
            model=risk_model_active() if policy.model_weight else None,
        )

    def assessments(
        self, *, transactions: list[Transaction], features: dict[int, TransactionFeatures]
    ) -> list[RiskAssessment]:
        """Unsaved assessments, in the order of `transactions`; the model scores them all in one call."""
        ordered = [features[transaction.pk] for transaction in transactions]
        points = [0] * len(ordered)
        if self.model is not None:
            version, model = self.model
            vectors = np.array([feature_vector(f) for f in ordered])
            points = [int(p) for p in model.points(vectors=vectors, weight=self.policy.model_weight)]
        return [
            self._assessment(transaction=transaction, features=f, points=p)
            for transaction, f, p in zip(transactions, ordered, points, strict=True)
        ]

    def _assessment(
        self, *, transaction: Transaction, features: TransactionFeatures, points: int
    ) -> RiskAssessment:
        reasons = rules_evaluate(features=features, rules=self.rules)
        if points:
            reasons.append(anomaly_reason(points=points, version=self.model[0].version))
        score = score_total(reasons)
        return RiskAssessment(
            transaction=transaction,
            score=score,
            reasons=[reason.as_json() for reason in sorted(reasons, key=lambda r: -r.points)],
            model_version=self.model[0].version if self.model is not None else "",
            status=Status.FLAGGED if score >= self.policy.flag_threshold else Status.CLEARED,
        )


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
