"""What the connector suite's checks send: the ERP's demo facts, and receipts built from them."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from integrations.sage.base import ReceiptApplication, ReceiptData


@dataclass(frozen=True)
class ErpFacts:
    secret: str  # a credential of the connection: never in a transcript
    journal_accounts: tuple[str, str, str]  # cash and fees are debited, the clearing account credited
    unknown_account: str
    payment_code: str = "CARD"
    bank_code: str = ""
    cash_account: str = ""
    refund_account: str = ""
    order_defaults: dict[str, str] = field(default_factory=dict)
    invoice_account: str = ""  # a revenue account, where the ERP takes one on an invoice we raise
    invoice_defaults: dict[str, str] = field(default_factory=dict)
    writes_per_receipt_batch: int = 1
    # Sage 300's Web API documents no stock quantities: its stock_levels only says which items it knows.
    publishes_stock: bool = True


def today() -> date:
    return timezone.now().date()


def receipt(facts: ErpFacts, reference: str, customer: str, amount: str, *applications: tuple[str, str]):
    return ReceiptData(
        reference=reference,
        customer_number=customer,
        amount=Decimal(amount),
        currency="USD",
        receipt_date=today(),
        payment_code=facts.payment_code,
        bank_code=facts.bank_code,
        cash_account=facts.cash_account,
        applications=tuple(ReceiptApplication(invoice, Decimal(value)) for invoice, value in applications),
    )
