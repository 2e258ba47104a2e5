"""A subscription period's ERP invoice as an outbox document (planned with the period's receipt): built
from the period's charge, and once posted, our copy of it is made and the period's payment applied to it,
so the receipt waiting on it goes out applied."""

from django.utils import timezone

from customers.erp import erp_customer_number
from integrations.models import ErpPosting
from integrations.outbox.registry import PostingNotNeeded
from integrations.sage.base import ErpDocument, InvoiceData
from integrations.sage.connector import ErpConnector
from integrations.sage.mapping import field_defaults_get, gl_rule_get
from payments.models import ZERO, Allocation, Invoice, SubscriptionCharge, Transaction
from payments.selectors.subscription_payments import subscription_charge_for_reference
from payments.services.allocations import allocation_add, payment_unapplied_amount


def _charge(posting: ErpPosting) -> SubscriptionCharge:
    charge = subscription_charge_for_reference(reference=posting.reference)
    if charge is None:
        raise PostingNotNeeded(f"no subscription period carries {posting.reference}")
    return charge


def invoice_build(*, posting: ErpPosting, connector: ErpConnector) -> InvoiceData:
    charge, erp = _charge(posting), posting.connection.system
    subscription = charge.subscription
    return InvoiceData(
        reference=posting.reference,
        customer_number=erp_customer_number(
            posting=posting, connector=connector, customer=subscription.customer
        ),
        amount=charge.amount,
        currency=subscription.currency,
        invoice_date=charge.period_start,
        due_date=charge.period_start,
        description=f"{subscription.description or 'Subscription'} from {charge.period_start:%Y-%m-%d}",
        account=gl_rule_get(erp=erp, purpose="revenue", transaction_type="sale").account,
        defaults=field_defaults_get(erp=erp, document_type=posting.document_type),
    )


def invoice_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    charge = subscription_charge_for_reference(reference=posting.reference)
    if charge is None:
        return
    subscription = charge.subscription
    invoice, _ = Invoice.objects.get_or_create(
        connection=posting.connection,
        invoice_number=document.number,
        defaults={
            "customer": subscription.customer,
            "reference": posting.reference,
            "currency": subscription.currency,
            "amount": charge.amount,
            "balance": charge.amount,
            "issued_on": charge.period_start,
            "due_on": charge.period_start,
            "synced_at": timezone.now(),
        },
    )
    waiting = Transaction.objects.filter(
        postings__depends_on=posting, postings__document_type=ErpPosting.DocumentType.RECEIPT
    ).distinct()
    for payment in waiting:
        invoice.refresh_from_db()
        amount = min(payment_unapplied_amount(payment=payment), invoice.balance)
        if amount > ZERO and payment.currency == invoice.currency:
            allocation_add(payment=payment, invoice=invoice, amount=amount, rule=Allocation.Rule.REFERENCE)
