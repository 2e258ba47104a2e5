"""Our payments as ERP documents: each outbox row turned into the connector's typed document, through the
mapping engine.

Everything here reads our own tables; the only ERP calls are for a customer we have never linked to
this ERP (found by email, then name, else created), so a steady-state receipt costs no extra call."""

from decimal import Decimal

from customers.erp import erp_customer_number
from customers.models import Customer, CustomerLink
from integrations.models import ErpPosting, GLAccountRule, StatusMapping
from integrations.outbox.dependencies import prerequisite_check
from integrations.outbox.registry import PostingNotNeeded
from integrations.sage.base import (
    CreditMemoData,
    ErpPermanentError,
    JournalEntryData,
    JournalLine,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.connector import ErpConnector
from integrations.sage.mapping import (
    MappingMissing,
    currency_convert,
    field_defaults_get,
    gl_rule_get,
    home_currency,
    payment_code_get,
    status_mapping_get,
)
from payments.erp.receipt_money import receipt_money
from payments.models import Allocation, JournalEntryLine, Order, OrderLine, Transaction
from payments.services.postings import reversal_reference_parse

DocumentType = ErpPosting.DocumentType

CHARGEBACK = "chargeback"
# The PayTrace status a document type stands for, as finance names it in the status mapping table.
MAPPING_STATUS = {
    DocumentType.RECEIPT: "approved",
    DocumentType.CREDIT_MEMO: "refunded",
    DocumentType.REVERSAL: "voided",
    DocumentType.JOURNAL_ENTRY: CHARGEBACK,
}


def _mapping_status(posting: ErpPosting) -> str | None:
    """The PayTrace status whose row governs `posting`: a chargeback's reversal answers to the
    `chargeback` row like its journal entry does."""
    transaction = posting.transaction
    if posting.document_type == DocumentType.REVERSAL and (
        transaction is not None and transaction.transaction_type == Transaction.Type.CHARGEBACK
    ):
        return CHARGEBACK
    return MAPPING_STATUS.get(posting.document_type)


def status_mapping_check(*, posting: ErpPosting) -> StatusMapping | None:
    paytrace_status = _mapping_status(posting)
    if paytrace_status is None or (posting.journal_entry and posting.journal_entry.kind != "chargeback"):
        return None
    mapping = status_mapping_get(erp=posting.connection.system, paytrace_status=paytrace_status)
    if mapping.action == StatusMapping.Action.NONE:
        raise PostingNotNeeded(f"status mapping {mapping} posts nothing")
    # A chargeback's document (reversal or journal entry) is chosen by `chargeback_policy` from the row's
    # reopen_invoice; any other row names its document.
    if mapping.action != posting.document_type and paytrace_status != CHARGEBACK:
        raise ErpPermanentError(
            f"Status mapping {posting.connection.system} / '{paytrace_status}' asks for '{mapping.action}'"
            f" but this posting is a {posting.document_type}.",
            code="MappingConflict",
        )
    return mapping


def _amount_in(*, amount: Decimal, transaction: Transaction, currency: str) -> Decimal:
    return currency_convert(
        amount=amount,
        from_currency=transaction.currency,
        to_currency=currency,
        on=transaction.occurred_at.date(),
    )


def _posting_currency(*, posting: ErpPosting, customer: Customer | None) -> str:
    return customer.currency if customer is not None else home_currency(erp=posting.connection.system)


def receipt_build(*, posting: ErpPosting, connector: ErpConnector) -> ReceiptData:
    transaction, erp = posting.transaction, posting.connection.system
    if transaction.status == Transaction.Status.VOIDED:
        # Reached only when the ERP does not have it (a receipt tried before is looked up first): a void
        # then leaves nothing to send, and the reversal waiting on this receipt nothing to reverse.
        raise PostingNotNeeded(f"PayTrace transaction {transaction.transaction_id} was voided before posting")
    mapping = status_mapping_check(posting=posting)
    customer = transaction.customer
    money = receipt_money(posting=posting, connector=connector, customer=customer)
    method = payment_code_get(
        erp=erp,
        payment_method=transaction.payment_method,
        card_brand=transaction.card_brand,
        currency=money.currency,
    )
    cash = gl_rule_get(
        erp=erp,
        purpose="clearing" if transaction.payment_method == "card" else "cash",
        transaction_type=transaction.transaction_type,
        merchant_id=transaction.merchant_id,
        card_brand=transaction.card_brand,
    )
    return ReceiptData(
        reference=posting.reference,
        customer_number=erp_customer_number(posting=posting, connector=connector, customer=customer),
        amount=money.amount,
        currency=money.currency,
        receipt_date=transaction.occurred_at.date(),
        payment_code=method.erp_payment_code,
        bank_code=method.bank_code,
        cash_account=cash.account,
        applications=money.applications,
        description=f"PayTrace {transaction.transaction_id} {mapping.erp_status if mapping else ''}".strip(),
        defaults=field_defaults_get(erp=erp, document_type=posting.document_type),
    )


def credit_memo_build(*, posting: ErpPosting, connector: ErpConnector) -> CreditMemoData:
    refund, memo, erp = posting.transaction, posting.credit_memo, posting.connection.system
    prerequisite_check(posting=posting)
    status_mapping_check(posting=posting)
    customer = refund.customer or (refund.original.customer if refund.original else None)
    currency = _posting_currency(posting=posting, customer=customer)
    account = gl_rule_get(
        erp=erp, purpose="refunds", transaction_type=refund.transaction_type, card_brand=refund.card_brand
    )
    return CreditMemoData(
        reference=posting.reference,
        customer_number=erp_customer_number(posting=posting, connector=connector, customer=customer),
        amount=_amount_in(amount=memo.amount, transaction=refund, currency=currency),
        currency=currency,
        document_date=refund.occurred_at.date(),
        original_reference=refund.original.transaction_id if refund.original else "",
        invoice_number=memo.invoice.invoice_number if memo.invoice else "",
        account=account.account,
        description=memo.reason or f"Refund {refund.transaction_id}",
        defaults=field_defaults_get(erp=erp, document_type=posting.document_type),
    )


def reversal_build(*, posting: ErpPosting, connector: ErpConnector) -> ReversalData:
    transaction = posting.transaction
    prerequisite_check(posting=posting)
    status_mapping_check(posting=posting)
    receipt_reference, allocation_pk = reversal_reference_parse(posting.reference)
    receipt = ErpPosting.objects.get(
        connection=posting.connection, document_type=DocumentType.RECEIPT, reference=receipt_reference
    )
    allocation = Allocation.objects.select_related("invoice").get(pk=allocation_pk) if allocation_pk else None
    customer = transaction.customer
    if allocation is not None:
        # An application is kept in its invoice's currency, the receipt's.
        currency, amount = allocation.currency, allocation.amount
    else:
        currency = _posting_currency(posting=posting, customer=customer)
        amount = _amount_in(amount=transaction.amount, transaction=transaction, currency=currency)
    return ReversalData(
        reference=posting.reference,
        original_reference=receipt.reference,
        original_document_number=receipt.erp_document_number,
        customer_number=erp_customer_number(posting=posting, connector=connector, customer=customer),
        amount=amount,
        currency=currency,
        document_date=(allocation.reversed_at if allocation else transaction.updated_at).date(),
        description=f"Undo of {allocation.invoice.invoice_number} from PayTrace {transaction.transaction_id}"
        if allocation
        else f"{transaction.get_transaction_type_display()} {transaction.transaction_id}"
        if transaction.transaction_type == Transaction.Type.CHARGEBACK
        else f"Void of PayTrace {transaction.transaction_id}",
    )


def _chargeback_lines(*, posting: ErpPosting) -> list[JournalEntryLine]:
    entry, transaction, erp = posting.journal_entry, posting.transaction, posting.connection.system
    scope = {
        "transaction_type": "chargeback",
        "merchant_id": transaction.merchant_id,
        "card_brand": transaction.card_brand,
    }
    debit = gl_rule_get(erp=erp, purpose="chargebacks", **scope).account
    credit = gl_rule_get(erp=erp, purpose="clearing", **scope).account
    amount = _amount_in(amount=transaction.amount, transaction=transaction, currency=entry.currency)
    return JournalEntryLine.objects.bulk_create(
        [
            JournalEntryLine(
                entry=entry, line_number=1, account=debit, debit=amount, description=entry.description
            ),
            JournalEntryLine(
                entry=entry, line_number=2, account=credit, credit=amount, description=entry.description
            ),
        ]
    )


def journal_entry_build(*, posting: ErpPosting, connector: ErpConnector) -> JournalEntryData:
    entry = posting.journal_entry
    status_mapping_check(posting=posting)
    lines = list(entry.lines.order_by("line_number"))
    if not lines and entry.kind == "chargeback":
        lines = _chargeback_lines(posting=posting)
    if not lines:
        raise MappingMissing(f"Journal entry {entry.reference} has no lines.")
    debit = sum((line.debit for line in lines), Decimal("0"))
    credit = sum((line.credit for line in lines), Decimal("0"))
    if debit != credit:
        raise ErpPermanentError(f"Journal entry {entry.reference} is out of balance: {debit} ≠ {credit}.")
    return JournalEntryData(
        reference=entry.reference,
        entry_date=entry.entry_date,
        currency=entry.currency,
        description=entry.description,
        lines=tuple(
            JournalLine(
                account=line.account, debit=line.debit, credit=line.credit, description=line.description
            )
            for line in lines
        ),
        defaults=field_defaults_get(erp=posting.connection.system, document_type=posting.document_type),
    )


def _order_lines_accounts(*, order: Order, erp: str) -> None:
    """Each line's revenue account from the GL rules, the line's product category making a rule more
    specific: kept on the line for finance and the storefront to see where its revenue goes."""
    for line in order.lines.all():
        account = gl_rule_get(erp=erp, purpose="revenue", product_category=line.category).account
        if account != line.gl_account:
            OrderLine.objects.filter(pk=line.pk).update(gl_account=account)


def sales_order_build(*, posting: ErpPosting, connector: ErpConnector) -> SalesOrderData:
    order = posting.order
    link = CustomerLink.objects.filter(customer=order.customer_id, connection=posting.connection).first()
    if link is None:
        raise ErpPermanentError(
            f"Order {order.order_id}: customer {order.customer} has no number in {posting.connection.name}.",
            code="CustomerNotLinked",
        )
    if GLAccountRule.objects.filter(erp=posting.connection.system, purpose="revenue").exists():
        _order_lines_accounts(order=order, erp=posting.connection.system)
    return SalesOrderData(
        reference=order.order_id,
        customer_number=link.external_id,
        currency=order.currency,
        order_date=order.created_at.date(),
        lines=tuple(
            SalesOrderLine(
                sku=line.sku, quantity=line.quantity, unit_price=line.unit_price, description=line.description
            )
            for line in order.lines.order_by("line_number")
        ),
        defaults=field_defaults_get(erp=posting.connection.system, document_type=posting.document_type),
    )
