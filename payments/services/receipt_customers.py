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
from payments.models import Transaction


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


def receipt_customer_plan(*, transaction: Transaction, erp: Connection) -> ErpPosting | None:
    """The customer posting the receipt must wait for, when the ERP does not know its customer yet."""
    customer = transaction_vault_customer_ensure(transaction=transaction)
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
