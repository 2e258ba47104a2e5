"""The customer a receipt is posted for, made ready before it: a payment by a PayTrace vault customer we
have never seen brings that customer in from PayTrace's vault, and a customer the ERP does not know yet is
created there first, by a customer posting the receipt depends on (`ErpPosting.depends_on`). The outbox
then posts the receipt only once the ERP customer exists; if creating it fails, the receipt waits held
behind the dead letter and goes on when it is replayed. The customer posting is looked up in the ERP by
our reference (`CUST-<pk>`) before any retry, so it is never created twice."""

from customers.erp import customer_posting_reference
from customers.models import Customer, CustomerLink
from customers.paytrace import paytrace_customer_ingest
from integrations.models import Connection, ErpPosting
from integrations.outbox.services import postings_wake
from integrations.paytrace.client import PayTraceClient
from integrations.sage.errors import ErpError
from integrations.sage.registry import connector_for
from payments.models import Invoice, Transaction
from payments.services.erp_invoices import erp_invoice_upsert


def transaction_vault_customer_ensure(*, transaction: Transaction) -> Customer | None:
    """The payment's customer; one PayTrace names by vault id that we do not know yet is read from the
    vault and linked (a PayTrace error propagates: the decide step is retried)."""
    if transaction.customer_id is not None or not transaction.paytrace_customer_id:
        return transaction.customer
    connection = transaction.connection
    link = CustomerLink.objects.filter(
        connection=connection, external_id=transaction.paytrace_customer_id
    ).first()
    if link is None:
        records = PayTraceClient.from_connection(connection).customer_export(
            customer_id=transaction.paytrace_customer_id
        )
        if not records:
            return None  # the vault no longer holds it: the receipt goes to the default customer
        paytrace_customer_ingest(connection=connection, raw=records[0])
        link = CustomerLink.objects.get(connection=connection, external_id=transaction.paytrace_customer_id)
    Transaction.objects.filter(pk=transaction.pk).update(customer=link.customer_id)
    transaction.customer = link.customer
    return link.customer


def transaction_invoice_customer_ensure(*, transaction: Transaction, erp: Connection) -> Customer | None:
    """A payment with no vault customer (a keyed sale, the virtual terminal) that names an invoice is that
    invoice's customer's: paying an invoice by its number is what the number is for. The invoice is read
    from the ERP when we hold no copy yet (created there since the last invoice sync); an ERP that cannot
    be read leaves the payment without a customer, to go on account as before."""
    if transaction.customer_id is not None or not transaction.invoice_reference:
        return transaction.customer
    invoice = (
        Invoice.objects.filter(connection=erp, invoice_number=transaction.invoice_reference)
        .exclude(customer=None)
        .first()
    )
    if invoice is None:
        try:
            erp_invoice = connector_for(erp).invoice_get(number=transaction.invoice_reference)
        except (ErpError, ValueError):  # ValueError: a connection not set up to be read
            return None
        if erp_invoice is None:
            return None
        invoice = erp_invoice_upsert(connection=erp, erp_invoice=erp_invoice).invoice
    if invoice.customer_id is None:
        return None
    Transaction.objects.filter(pk=transaction.pk).update(customer=invoice.customer_id)
    transaction.customer = invoice.customer
    return invoice.customer


def receipt_customer_plan(*, transaction: Transaction, erp: Connection) -> ErpPosting | None:
    """The customer posting the receipt must wait for, when the ERP does not know its customer yet."""
    customer = transaction_vault_customer_ensure(
        transaction=transaction
    ) or transaction_invoice_customer_ensure(transaction=transaction, erp=erp)
    if customer is None or CustomerLink.objects.filter(customer=customer, connection=erp).exists():
        return None
    posting, created = ErpPosting.objects.get_or_create(
        connection=erp,
        document_type=ErpPosting.DocumentType.CUSTOMER,
        reference=customer_posting_reference(customer),
        defaults={"customer": customer},
    )
    if created:
        postings_wake()
    return posting
