"""What follows an invoice read from the ERP by the invoice sync: whatever waited for it is done.

The sync itself (`erp_invoices.erp_invoices_sync`) only keeps our copies; the schedule and the command run
it through here, so an order's prepayment is applied the moment the sync sees the order's invoice."""

from integrations.cursors import SyncSummary
from integrations.models import Connection
from integrations.sage.connector import ErpConnector
from payments.models import Invoice
from payments.services.erp_invoices import Progress, erp_invoices_sync
from payments.services.order_prepayments import order_prepayments_apply


def invoice_arrived(*, invoice: Invoice) -> None:
    order_prepayments_apply(invoice=invoice)


def erp_invoices_sync_and_follow(
    *, connection: Connection, connector: ErpConnector | None = None, progress: Progress | None = None
) -> SyncSummary:
    return erp_invoices_sync(
        connection=connection, connector=connector, progress=progress, on_invoice=invoice_arrived
    )
