"""Tasks of the portal itself."""

from integrations.models import AuditEvent
from portal.queue import task


@task(timeout=30)
def cluster_probe(token: str) -> str:
    """Proves a cluster is consuming the broker: leaves an audit row the caller can look for."""
    AuditEvent.objects.create(action="cluster.probe", subject_type="cluster", subject_id=token[:60])
    return token
