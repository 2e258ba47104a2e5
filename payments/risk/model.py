"""The anomaly model: an IsolationForest over the rule features, fitted on the merchant's own history.

The forest answers how unusual a transaction is next to what this merchant normally sees; that becomes
up to `RiskPolicy.model_weight` points beside the rules. Floats are fine here: these are model inputs,
never amounts that are booked.

scikit-learn fits the forest; scoring uses the fitted trees flattened into arrays (`AnomalyModel`). That
scores one transaction in well under a millisecond where the forest's own `decision_function` spends
tens of milliseconds in per-tree overhead, and it lets the stored artifact be plain arrays (see
`anomaly_model_load`). A test holds the two to the same answers."""

import io
import math
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
    # Floats only as the model's inputs (log-scaled magnitudes); no amount is ever stored or posted from here.
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


def _average_path_length(samples: np.ndarray) -> np.ndarray:
    """c(n): the mean depth at which a point is isolated among n (Liu et al. 2008), as scikit-learn has it."""
    samples = np.asarray(samples, dtype=np.float64)
    inner = np.maximum(samples, 3.0)
    length = 2.0 * (np.log(inner - 1.0) + np.euler_gamma) - 2.0 * (inner - 1.0) / inner
    return np.where(samples <= 1, 0.0, np.where(samples == 2, 1.0, length))


@dataclass(frozen=True)
class AnomalyModel:
    """The fitted trees as arrays of shape (trees, nodes); a leaf's children are itself, so walking the
    trees a fixed number of steps leaves every row on its leaf."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    path_length: np.ndarray  # at a leaf: its depth plus c(training rows that reached it), minus one
    steps: int
    normaliser: float  # c(rows each tree was grown on)
    offset: float
    full_points_at: float  # the decision value (negative: anomalous) that earns the full weight

    def decisions(self, vectors: np.ndarray) -> np.ndarray:
        """IsolationForest.decision_function: negative for anomalies, the lower the stranger."""
        # The trees compare in float32, as scikit-learn does, so thresholds split exactly alike.
        x = np.asarray(vectors, dtype=np.float32).astype(np.float64)
        rows, trees = np.arange(len(x))[:, None], np.arange(self.feature.shape[0])[None, :]
        node = np.zeros((len(x), self.feature.shape[0]), dtype=np.int64)
        for _ in range(self.steps):
            go_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(go_left, self.left[trees, node], self.right[trees, node])
        mean_path = self.path_length[trees, node].mean(axis=1)
        return -(2.0 ** (-mean_path / self.normaliser)) - self.offset

    def points(self, *, vectors: np.ndarray, weight: int) -> np.ndarray:
        """Points per row: 0 for anything the forest finds normal, up to `weight` for the most unusual."""
        share = np.clip(self.decisions(vectors) / self.full_points_at, 0.0, 1.0)
        return np.rint(share * weight).astype(int)


def anomaly_model_from_forest(forest: IsolationForest, *, full_points_at: float) -> AnomalyModel:
    trees = [estimator.tree_ for estimator in forest.estimators_]
    shape = (len(trees), max(tree.node_count for tree in trees))
    feature, left, right = (np.zeros(shape, dtype=np.int64) for _ in range(3))
    threshold, path_length = np.zeros(shape), np.zeros(shape)
    for i, (tree, columns) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
        count = tree.node_count
        nodes = np.arange(count)
        leaf = tree.children_left[:count] < 0
        # Each tree was grown on its own ordering of the columns: map its feature numbers back to ours.
        feature[i, :count] = np.where(leaf, 0, np.asarray(columns)[np.maximum(tree.feature[:count], 0)])
        threshold[i, :count] = tree.threshold[:count]
        left[i, :count] = np.where(leaf, nodes, tree.children_left[:count])
        right[i, :count] = np.where(leaf, nodes, tree.children_right[:count])
        depths = np.asarray(tree.compute_node_depths(), dtype=np.float64)[:count]
        path_length[i, :count] = depths + _average_path_length(tree.n_node_samples[:count]) - 1.0
    return AnomalyModel(
        feature=feature,
        threshold=threshold,
        left=left,
        right=right,
        path_length=path_length,
        steps=max(tree.max_depth for tree in trees),
        normaliser=float(_average_path_length(np.array([forest.max_samples_]))[0]),
        offset=float(forest.offset_),
        full_points_at=full_points_at,
    )


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
    return anomaly_model_from_forest(forest, full_points_at=full_points_at), metrics


_ARRAYS = ("feature", "threshold", "left", "right", "path_length")
_SCALARS = ("steps", "normaliser", "offset", "full_points_at")


def anomaly_model_dump(model: AnomalyModel) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(
        out,
        **{name: getattr(model, name) for name in _ARRAYS},
        **{name: np.array(getattr(model, name)) for name in _SCALARS},
    )
    return out.getvalue()


def anomaly_model_load(artifact: bytes) -> AnomalyModel:
    # Trust boundary: the artifact is numeric arrays only and is read with allow_pickle=False, so loading
    # one can never run code, whoever wrote it. (A pickled scikit-learn estimator could: that is why
    # the fitted forest itself is never stored.) Artifacts are written only by risk_model_train.
    with np.load(io.BytesIO(artifact), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in _ARRAYS}
        scalars = {name: stored[name].item() for name in _SCALARS}
    return AnomalyModel(**arrays, **scalars)
