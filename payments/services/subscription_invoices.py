"""Each subscription period has its own ERP invoice, raised through the subscription's own ERP connection,
and the period's payment is applied to it (never to the customer's oldest unrelated invoice).

When a period's charge is approved, an `invoice` posting is planned under the period's reference
(`SUB-<subscription>-<period start>`, also the sale's PayTrace invoice id) before the sale is decided. The
sale's receipt then depends on it (`ErpPosting.depends_on`): it is claimed only once the invoice is in the
ERP. The invoice's posting effect (`payments.erp.invoices`) makes our copy of it and applies the payment,
so the receipt goes out applied to it. Planning is idempotent by reference, and a retried invoice is looked
up in the ERP by our reference before it is sent again."""

from integrations.models import Connection, ErpPosting
from integrations.outbox.services import postings_wake
from payments.models import Subscription, SubscriptionCharge
from payments.services.postings import erp_connection_for_paytrace


def subscription_erp_connection(*, subscription: Subscription) -> Connection:
    """The subscription's own ERP connection, else the one its PayTrace connection names."""
    if subscription.erp_connection_id:
        return subscription.erp_connection
    return erp_connection_for_paytrace(connection=subscription.paytrace_connection)


def subscription_invoice_plan(*, charge: SubscriptionCharge, reference: str) -> ErpPosting:
    subscription = charge.subscription
    posting, created = ErpPosting.objects.get_or_create(
        connection=subscription_erp_connection(subscription=subscription),
        document_type=ErpPosting.DocumentType.INVOICE,
        reference=reference,
        defaults={"customer_id": subscription.customer_id},
    )
    if created:
        postings_wake()
    return posting
