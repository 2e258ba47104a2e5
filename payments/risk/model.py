"""The anomaly model: an IsolationForest over the rule features, fitted on the merchant's own history.

The forest answers how unusual a transaction is next to what this merchant normally sees; that becomes
up to `RiskPolicy.model_weight` points beside the rules. Floats are fine here: these are model inputs,
never amounts that are booked."""

import math
import pickle  # noqa: S403 - see anomaly_model_load for the trust boundary
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from payments.risk.features import TransactionFeatures

ALGORITHM = "IsolationForest"
PARAMETERS = {"n_estimators": 200, "max_samples": "auto", "contamination": "auto", "random_state": 7}
# Training rows at least this unusual give the model's full weight; milder anomalies give a share of it.
# The floor keeps a history with no real outliers from handing full points to the barely unusual.
FULL_POINTS_QUANTILE = 0.005
FULL_POINTS_FLOOR = -0.1
FEATURE_NAMES = (
    "log_amount",
    "log_amount_to_customer_median",
    "log_customer_sales",
    "log_customer_count",
    "log_card_count",
    "log_ip_count",
    "small_declines",
    "avs_mismatch",
    "csc_mismatch",
    "is_refund",
    "is_declined",
    "refund_ratio",
    "refund_soon",
    "refund_without_sale",
    "country_mismatch",
)


def feature_vector(f: TransactionFeatures) -> list[float]:
    to_median = float(f.amount / f.customer_median) if f.customer_median else 0.0
    minutes = f.refund_minutes_after_sale
    return [
        math.log1p(float(f.amount)),
        math.log1p(to_median),
        math.log1p(f.customer_sales),
        math.log1p(f.customer_count),
        math.log1p(f.card_count),
        math.log1p(f.ip_count),
        float(f.small_declines),
        float(f.avs_mismatch),
        float(f.csc_mismatch),
        float(f.is_refund),
        float(f.is_declined),
        float(f.refund_ratio or 0),
        1 / (1 + max(minutes, 0) / 60) if minutes is not None else 0.0,
        float(f.is_refund and not f.refund_has_sale),
        float(f.country_mismatch),
    ]


@dataclass(frozen=True)
class AnomalyModel:
    forest: IsolationForest
    # The decision value (negative: anomalous) at which the full weight is reached.
    full_points_at: float

    def points(self, *, vectors: np.ndarray, weight: int) -> np.ndarray:
        """Points per row: 0 for anything the forest finds normal, up to `weight` for the most unusual."""
        decisions = self.forest.decision_function(vectors)
        share = np.clip(decisions / self.full_points_at, 0.0, 1.0)
        return np.rint(share * weight).astype(int)


def anomaly_model_fit(*, vectors: np.ndarray) -> tuple[AnomalyModel, dict[str, Any]]:
    forest = IsolationForest(**PARAMETERS).fit(vectors)
    decisions = forest.decision_function(vectors)
    full_points_at = min(float(np.quantile(decisions, FULL_POINTS_QUANTILE)), FULL_POINTS_FLOOR)
    metrics = {
        "anomalous_share": round(float((decisions < 0).mean()), 4),
        "full_points_at": full_points_at,
        "decision_min": float(decisions.min()),
        "decision_median": float(np.median(decisions)),
    }
    return AnomalyModel(forest=forest, full_points_at=full_points_at), metrics


def anomaly_model_dump(model: AnomalyModel) -> bytes:
    return pickle.dumps({"forest": model.forest, "full_points_at": model.full_points_at})


def anomaly_model_load(artifact: bytes) -> AnomalyModel:
    # Trust boundary: unpickling runs code, so only artifacts this program wrote itself are loaded: they
    # come from `risk_model_train` into our own database, the admin never shows nor accepts them, and
    # nothing imports a model file from elsewhere. Do not add an upload or import path for artifacts.
    state = pickle.loads(artifact)  # noqa: S301
    return AnomalyModel(forest=state["forest"], full_points_at=state["full_points_at"])
