"""django-q2 entry points for the invoice copies: call a service per active ERP connection, nothing else.

One connection's ERP being down does not stop the others: its error is returned (and, for the sync, left on
its cursor) and the next run tries again."""

from collections.abc import Callable
from typing import Any

from integrations.sage.base import ErpError
from integrations.selectors import erp_connections_active
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow
from payments.services.invoice_drift import invoices_reconcile
from portal.queue import task


def _each_erp_connection(run: Callable[..., Any]) -> list[dict]:
    results = []
    for connection in erp_connections_active():
        try:
            results.append(run(connection=connection).__dict__)
        except (ErpError, ValueError) as exc:  # ValueError: a connection not set up to be read
            results.append({"connection": connection.name, "error": str(exc)})
    return results


@task(timeout=240)
def erp_invoices_sync_task() -> list[dict]:
    return _each_erp_connection(erp_invoices_sync_and_follow)


@task(timeout=240)
def invoices_reconcile_task() -> list[dict]:
    return _each_erp_connection(invoices_reconcile)
