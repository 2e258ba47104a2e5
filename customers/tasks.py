"""django-q2 entry points of the customers app: call a service, nothing else."""

from customers.sync import customers_sync as customers_sync_service
from portal.queue import task


@task(timeout=110)
def customers_sync() -> list[dict]:
    return [summary.__dict__ for summary in customers_sync_service()]
