"""Risk reads: the active anomaly model, loaded once per process and version."""

from functools import lru_cache

from payments.models import RiskModelVersion
from payments.risk.model import AnomalyModel, anomaly_model_load


@lru_cache(maxsize=4)
def _anomaly_model(pk: int) -> AnomalyModel:
    # Keyed by primary key: a stored version is never changed (its admin is read-only), so a cached
    # copy cannot go stale; retraining creates a new row.
    artifact = RiskModelVersion.objects.values_list("artifact", flat=True).get(pk=pk)
    return anomaly_model_load(bytes(artifact))


def risk_model_active() -> tuple[RiskModelVersion, AnomalyModel] | None:
    version = RiskModelVersion.objects.filter(is_active=True).defer("artifact").first()
    if version is None:
        return None
    return version, _anomaly_model(version.pk)
