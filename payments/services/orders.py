"""The storefront order flow: received → customer_synced → order_created → paid → posted.

Every step is an outbox posting or a reaction to one: the customer is matched or created in the order's
ERP, then the sales order is created there, then the PayTrace payment (named by the storefront, or found
later by the order id PayTrace keeps as `invoice_id`) is posted as a receipt applied to the order's
invoice. Each move goes through `status_transition` and leaves an OrderEvent, which is the history the
storefront reads. A dead letter of one of the order's postings fails the order with the ERP's reason; a
payment held for review puts it on hold. Replaying the posting resumes the order where it stopped. A void
or refund of the payment, at any step, ends in voided, partially_refunded or refunded, and the ERP
document that follows (the receipt's reversal, a credit memo) is told with its number."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from customers.erp import customer_posting_reference
from customers.matching import customer_duplicates_flag, customer_match
from customers.models import Customer, CustomerLink
from customers.services import ExternalCustomer, customer_create
from integrations.models import Connection, ErpPosting, System
from integrations.outbox.services import postings_wake
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceError, PayTraceValidationError
from integrations.sage.base import ErpError
from integrations.sage.registry import connector_for
from integrations.selectors import connections_active
from payments.models import Invoice, Order, OrderEvent, OrderLine, RiskAssessment, Transaction
from portal.lifecycle import status_transition
from portal.money import money_quantize

Status = Order.Status
TxStatus = Transaction.Status
# A refund counts while it stands (approved or settled), not when declined or voided.
REFUND_STANDING = (TxStatus.APPROVED, TxStatus.SETTLED)
DocumentType = ErpPosting.DocumentType
# The happy path; a move forward to a later step passes through the ones before it.
STEPS = (Status.RECEIVED, Status.CUSTOMER_SYNCED, Status.ORDER_CREATED, Status.PAID, Status.POSTED)
MONEY_BACK = (Status.VOIDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)
SKU_CACHE_SECONDS = 15 * 60


class OrderConflict(Exception):
    """The order id is taken by an order with a different body."""


class OrderRejected(Exception):
    def __init__(self, message: str, *, fields: dict[str, Any]):
        super().__init__(message)
        self.fields = fields


class ErpUnavailable(Exception):
    """The ERP (or PayTrace) could not be asked (timeout, outage): nothing was stored, the caller may
    retry."""


class OrderPaymentUnknown(Exception):
    """The PayTrace transaction the order names does not exist: nothing was stored."""


@dataclass(frozen=True)
class OrderSubmission:
    order: Order
    created: bool


def order_body_hash(*, body: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON: sorted keys, no whitespace, decimals as their quantised strings."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def erp_skus_unknown(*, connection: Connection, skus: list[str]) -> list[str]:
    """The SKUs the ERP does not know. Known ones are remembered a while, so a busy storefront does not
    cost one ERP call per order."""
    wanted = sorted(set(skus))
    keys = {sku: f"erp-sku:{connection.pk}:{sku}" for sku in wanted}
    known = {sku for sku, key in keys.items() if cache.get(key)}
    to_ask = [sku for sku in wanted if sku not in known]
    if to_ask:
        try:
            levels = connector_for(connection).stock_levels(skus=to_ask)
        except ErpError as error:
            raise ErpUnavailable(f"{connection.name} could not be asked about the items: {error}") from error
        found = {level.sku.upper() for level in levels}
        for sku in to_ask:
            if sku.upper() in found:
                cache.set(keys[sku], True, SKU_CACHE_SECONDS)
                known.add(sku)
    return [sku for sku in skus if sku not in known]


def _skus_check(*, connection: Connection, lines: list[dict[str, Any]]) -> None:
    unknown = set(erp_skus_unknown(connection=connection, skus=[line["sku"] for line in lines]))
    if unknown:
        # Shaped like the serializers' own errors: the failing lines by index.
        errors = {
            str(index): {"sku": [f"{connection.get_system_display()} has no item {line['sku']}."]}
            for index, line in enumerate(lines)
            if line["sku"] in unknown
        }
        raise OrderRejected("Unknown items.", fields={"lines": errors})


def order_payment_check(*, transaction_id: str) -> None:
    """The payment an order names exists: known here, or else PayTrace knows it by id. An order naming a
    transaction that does not exist would otherwise wait for it, silently, for ever. It is not ingested
    here: the sync decides it once its order is stored, so it posts to the order's ERP."""
    if Transaction.objects.filter(connection__system=System.PAYTRACE, transaction_id=transaction_id).exists():
        return
    connection = connections_active(system=System.PAYTRACE).first()
    if connection is None:
        raise ErpUnavailable(f"No active PayTrace connection to look up transaction {transaction_id}.")
    try:
        found = PayTraceClient.from_connection(connection).transaction_export_by_id(
            transaction_id=transaction_id
        )
    except PayTraceValidationError:
        found = None  # PayTrace refused the look-up of this id: it is not one of this account's
    except PayTraceError as error:
        raise ErpUnavailable(
            f"PayTrace could not be asked about transaction {transaction_id}: {error}"
        ) from error
    if found is None:
        raise OrderPaymentUnknown(
            f"PayTrace has no transaction {transaction_id} on {connection.name}: charge the card first and"
            " send the transaction id PayTrace returned, or leave paytrace_transaction_id out to have the"
            " payment found by the order id (PayTrace's invoice id)."
        )


def order_submit(*, body: dict[str, Any], erp_connection: Connection) -> OrderSubmission:
    """Store a new order and start its flow, or return the order already stored under this order id if
    the body is the same. `body` is the validated, canonical request."""
    request_hash = order_body_hash(body=body)
    existing = Order.objects.filter(order_id=body["order_id"]).first()
    if existing is not None:
        return _replayed(existing, request_hash=request_hash)
    _skus_check(connection=erp_connection, lines=body["lines"])
    if body.get("paytrace_transaction_id"):
        order_payment_check(transaction_id=body["paytrace_transaction_id"])
    try:
        with db_transaction.atomic():
            order = _order_create(body=body, request_hash=request_hash, erp_connection=erp_connection)
    except IntegrityError:
        # The same order id, posted concurrently, won the insert.
        return _replayed(Order.objects.get(order_id=body["order_id"]), request_hash=request_hash)
    return OrderSubmission(order=order, created=True)


def _replayed(order: Order, *, request_hash: str) -> OrderSubmission:
    if order.request_hash != request_hash:
        raise OrderConflict(f"Order {order.order_id} was already received with a different body.")
    return OrderSubmission(order=order, created=False)


def _order_customer(*, details: dict[str, Any], currency: str) -> Customer:
    """Ours by email, then name and postal code; several candidates mean a new customer flagged beside
    them for review, never a guess."""
    address = details.get("billing_address") or {}
    match = customer_match(
        email=details["email"], name=details["name"], postal_code=address.get("postal_code", "")
    )
    if match.customer is not None:
        return match.customer
    customer = customer_create(
        data=ExternalCustomer(
            external_id="",
            name=details["name"],
            email=details["email"],
            phone=details.get("phone", ""),
            address_line1=address.get("line1", ""),
            address_line2=address.get("line2", ""),
            city=address.get("city", ""),
            state=address.get("state", ""),
            postal_code=address.get("postal_code", ""),
            country=address.get("country", ""),
        ),
        source_updated_at=timezone.now(),
    )
    Customer.objects.filter(pk=customer.pk).update(currency=currency)
    customer.currency = currency
    customer_duplicates_flag(customer=customer)
    return customer


def _order_create(*, body: dict[str, Any], request_hash: str, erp_connection: Connection) -> Order:
    currency = body["currency"]
    customer = _order_customer(details=body["customer"], currency=currency)
    amounts = [money_quantize(line["quantity"] * line["unit_price"], currency) for line in body["lines"]]
    order = Order.objects.create(
        order_id=body["order_id"],
        erp_connection=erp_connection,
        customer=customer,
        currency=currency,
        total=sum(amounts, Decimal("0")),
        paytrace_transaction_id=body.get("paytrace_transaction_id", ""),
        invoice_number=body.get("invoice_number", ""),
        callback_url=body.get("callback_url", ""),
        request_body=body,
        request_hash=request_hash,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            line_number=number,
            sku=line["sku"],
            description=line.get("description", ""),
            quantity=line["quantity"],
            unit_price=line["unit_price"],
            amount=amount,
            category=line.get("category", ""),
        )
        for number, (line, amount) in enumerate(zip(body["lines"], amounts, strict=True), start=1)
    )
    OrderEvent.objects.create(order=order, status=Status.RECEIVED, reason="Received from the storefront")
    if order.invoice_number:
        Invoice.objects.filter(
            connection=erp_connection, invoice_number=order.invoice_number, order__isnull=True
        ).update(order=order)
    payment = order_payment_find(order=order)
    if payment is not None:
        order_payment_attach(order=order, payment=payment)
    order_customer_plan(order=order)
    return order


# --- status moves ---------------------------------------------------------------------------------


def order_status_move(*, order: Order, to_status: str, reason: str = "", **fields: Any) -> Order:
    """Move the order to `to_status` with one OrderEvent per step. Forward moves pass through the steps
    between (a receipt posted for an order on hold is paid, then posted); a move back along the happy
    path is ignored, so a late or repeated effect changes nothing."""
    with db_transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if to_status in MONEY_BACK or order.status in MONEY_BACK:
            return _order_money_back_move(order=order, to_status=to_status, reason=reason)
        if order.status == Status.POSTED:
            return order  # done: nothing after the receipt but a void or refund changes what it was told
        if order.status == to_status:
            if fields:
                status_transition(instance=order, to_status=to_status, **fields)
            return order
        if (
            order.status in STEPS
            and to_status in STEPS
            and STEPS.index(order.status) > STEPS.index(to_status)
        ):
            return order
        if to_status in STEPS and to_status not in Order.TRANSITIONS[order.status]:
            order = order_status_move(order=order, to_status=STEPS[STEPS.index(to_status) - 1])
        problem = to_status in (Status.FAILED, Status.ON_HOLD)
        status_transition(
            instance=order, to_status=to_status, status_reason=reason if problem else "", **fields
        )
        OrderEvent.objects.create(order=order, status=to_status, reason=reason)
    return order


def _order_money_back_move(*, order: Order, to_status: str, reason: str) -> Order:
    """A void or refund, or what follows one (its ERP document posted): one event per fact (its reason
    names the transaction or the document), so deciding the same change twice adds nothing, while a
    second partial refund is told."""
    if to_status not in MONEY_BACK:
        return order  # the happy path's late effects change nothing once the money went back
    if order.status != to_status:
        if to_status not in Order.TRANSITIONS[order.status]:
            return order  # e.g. a refund read after the void that already ended the order
        status_transition(instance=order, to_status=to_status, status_reason=reason)
    elif not OrderEvent.objects.filter(order=order, reason=reason).exists():
        Order.objects.filter(pk=order.pk).update(status_reason=reason, updated_at=timezone.now())
        order.status_reason = reason
    else:
        return order
    OrderEvent.objects.create(order=order, status=to_status, reason=reason)
    return order


def orders_fail(*, orders, reason: str) -> None:
    for order in orders:
        if order.status != Status.POSTED:
            order_status_move(order=order, to_status=Status.FAILED, reason=reason)


# --- customer and sales order ----------------------------------------------------------------------


def order_customer_plan(*, order: Order) -> None:
    """The customer's number in the order's ERP, or a customer posting to get one."""
    link = CustomerLink.objects.filter(customer=order.customer_id, connection=order.erp_connection_id).first()
    if link is not None:
        order_customer_synced(order=order, number=link.external_id)
        return
    posting, created = ErpPosting.objects.get_or_create(
        connection=order.erp_connection,
        document_type=DocumentType.CUSTOMER,
        reference=customer_posting_reference(order.customer),
        defaults={"customer": order.customer, "order": order},
    )
    if created:
        postings_wake()
    if posting.status == ErpPosting.Status.DEAD:
        order_posting_dead(posting=posting)  # an earlier order's attempt already failed: say so now


def order_customer_synced(*, order: Order, number: str) -> None:
    order_status_move(
        order=order,
        to_status=Status.CUSTOMER_SYNCED,
        reason=f"Customer {number} in {order.erp_connection.name}",
    )
    _, created = ErpPosting.objects.get_or_create(
        connection=order.erp_connection,
        document_type=DocumentType.SALES_ORDER,
        reference=order.order_id,
        defaults={"customer": order.customer, "order": order},
    )
    if created:
        postings_wake()


def orders_waiting_for_customer(*, customer_id: int, erp: Connection):
    """Orders of this customer and ERP whose customer step has not finished (or failed)."""
    return (
        Order.objects.filter(customer_id=customer_id, erp_connection=erp)
        .filter(Q(status=Status.RECEIVED) | Q(status=Status.FAILED, erp_order_number=""))
        .exclude(postings__document_type=DocumentType.SALES_ORDER)
        .order_by("pk")
    )


# --- payment ---------------------------------------------------------------------------------------


def order_payment_find(*, order: Order) -> Transaction | None:
    """The payment the storefront named, else one PayTrace holds with the order id as its invoice id."""
    payments = Transaction.objects.filter(
        Q(order__isnull=True) | Q(order=order),
        connection__system=System.PAYTRACE,
        transaction_type__in=Transaction.PAYMENT_TYPES,
    )
    if order.paytrace_transaction_id:
        return payments.filter(transaction_id=order.paytrace_transaction_id).first()
    return payments.filter(invoice_reference=order.order_id).order_by("pk").first()


def transaction_order_find(*, transaction: Transaction) -> Order | None:
    if transaction.order_id:
        return transaction.order
    if transaction.transaction_type not in Transaction.PAYMENT_TYPES:
        return transaction.original.order if transaction.original_id else None
    query = Q(paytrace_transaction_id=transaction.transaction_id)
    if transaction.invoice_reference:
        query |= Q(order_id=transaction.invoice_reference, paytrace_transaction_id="")
    return Order.objects.filter(query).order_by("pk").first()


def order_payment_attach(*, order: Order, payment: Transaction) -> None:
    updates: dict[str, Any] = {"order": order}
    if payment.customer_id is None:
        # A keyed card has no vault customer: the receipt belongs to the order's customer.
        updates["customer"] = order.customer
    Transaction.objects.filter(pk=payment.pk).update(**updates)
    for name, value in updates.items():
        setattr(payment, name, value)
    if not order.paytrace_transaction_id:
        Order.objects.filter(pk=order.pk).update(paytrace_transaction_id=payment.transaction_id)
        order.paytrace_transaction_id = payment.transaction_id


def order_payment_deferred(*, transaction: Transaction) -> bool:
    """Link a transaction to its order. True when it is the order's payment and the sales order is not
    in the ERP yet: the receipt is planned once it is (`order_sales_order_posted`), not before."""
    order = transaction_order_find(transaction=transaction)
    if order is None:
        return False
    if transaction.order_id != order.pk:
        order_payment_attach(order=order, payment=transaction)
    if transaction.transaction_type not in Transaction.PAYMENT_TYPES:
        return False
    if transaction.status == Transaction.Status.DECLINED:
        order_status_move(
            order=order, to_status=Status.FAILED, reason=f"Payment {transaction.transaction_id} was declined"
        )
        return False  # nothing to wait for: the decide step plans its status write-back, if any
    return transaction.status in Transaction.RECEIVED_STATUSES and not order.erp_order_number


# The code on an order payment's receipt held until the ERP invoices the order (`order_prepayments`).
ORDER_INVOICE_AWAITED = "AwaitingInvoice"


def order_payment_planned(*, transaction: Transaction, postings: list[ErpPosting]) -> None:
    """After the decide step planned the receipt of an order's payment: paid, or on hold for review; or,
    for a void or a refund, the order says the money went back."""
    if not transaction.order_id:
        return
    if transaction.transaction_type in Transaction.REFUND_TYPES or (
        transaction.transaction_type in Transaction.PAYMENT_TYPES and transaction.status == TxStatus.VOIDED
    ):
        order_money_back(transaction=transaction, postings=postings)
        return
    if transaction.transaction_type not in Transaction.PAYMENT_TYPES:
        return
    receipt = next((p for p in postings if p.document_type == DocumentType.RECEIPT), None)
    if receipt is None or receipt.status == ErpPosting.Status.CANCELLED:
        return
    flagged = RiskAssessment.objects.filter(
        transaction=transaction, status=RiskAssessment.Status.FLAGGED
    ).exists()
    if receipt.status == ErpPosting.Status.POSTED:
        order_status_move(
            order=transaction.order, to_status=Status.POSTED, reason=f"Receipt {receipt.erp_document_number}"
        )
    elif receipt.last_error_code == ORDER_INVOICE_AWAITED and not flagged:
        order_status_move(
            order=transaction.order,
            to_status=Status.PAID,
            reason=f"Payment {transaction.transaction_id}: {transaction.amount} {transaction.currency}, held"
            f" as a prepayment until {receipt.connection.name} invoices the order",
        )
    elif receipt.status == ErpPosting.Status.HELD or flagged:
        order_status_move(
            order=transaction.order,
            to_status=Status.ON_HOLD,
            reason=f"Payment {transaction.transaction_id} is held for review",
        )
    else:
        order_status_move(
            order=transaction.order,
            to_status=Status.PAID,
            reason=f"Payment {transaction.transaction_id}: {transaction.amount} {transaction.currency}",
        )


def order_money_back_status(*, sale: Transaction) -> str:
    """voided, refunded or partially_refunded, from the sale as it now stands."""
    if sale.status == TxStatus.VOIDED:
        return Status.VOIDED
    return Status.REFUNDED if sale.amount_refunded >= sale.amount else Status.PARTIALLY_REFUNDED


def order_money_back(*, transaction: Transaction, postings: list[ErpPosting]) -> None:
    """A void of the order's payment, or a refund standing against it: the order's status and history
    say so, with what the ERP is to do (the receipt cancelled before it reached the ERP, its reversal, or
    a credit memo); the ERP's document number follows when it posts (`order_money_back_posted`)."""
    sale = transaction if transaction.transaction_type in Transaction.PAYMENT_TYPES else transaction.original
    if sale is None or (transaction is not sale and transaction.status not in REFUND_STANDING):
        return
    sale.refresh_from_db(fields=["status", "amount_refunded"])
    documents = {posting.document_type: posting for posting in postings}
    if transaction is sale:
        reversal, receipt = documents.get(DocumentType.REVERSAL), documents.get(DocumentType.RECEIPT)
        follows = (
            f"; its receipt is reversed in {reversal.connection.name}"
            if reversal
            else f"; its receipt was cancelled before reaching {receipt.connection.name}"
            if receipt
            else ""
        )
        reason = f"Payment {sale.transaction_id} voided: {sale.amount} {sale.currency}{follows}"
    else:
        memo = documents.get(DocumentType.CREDIT_MEMO)
        reason = (
            f"Refund {transaction.transaction_id}: {transaction.amount} {transaction.currency}"
            f" of payment {sale.transaction_id} ({sale.amount} {sale.currency})"
            + (f"; credit memo planned in {memo.connection.name}" if memo else "")
        )
    order_status_move(order=transaction.order, to_status=order_money_back_status(sale=sale), reason=reason)


def order_money_back_posted(*, posting: ErpPosting, document_number: str) -> None:
    """The ERP document of a void (the receipt's reversal) or a refund (its credit memo) posted: the
    order's history gets its number."""
    transaction = posting.transaction
    if transaction is None or transaction.order_id is None:
        return
    sale = transaction if transaction.transaction_type in Transaction.PAYMENT_TYPES else transaction.original
    if sale is None:
        return
    sale.refresh_from_db(fields=["status", "amount_refunded"])
    order_status_move(
        order=transaction.order,
        to_status=order_money_back_status(sale=sale),
        reason=f"{posting.get_document_type_display()} {document_number} in {posting.connection.name}"
        f" for {transaction.transaction_id}",
    )


def order_posting_dead(*, posting: ErpPosting) -> None:
    """A dead letter stops the orders waiting on it, with the ERP's reason."""
    reason = (
        f"{posting.get_document_type_display()} {posting.reference} refused by {posting.connection.name}:"
        f" [{posting.last_error_code}] {posting.last_error}"
    )
    if posting.document_type == DocumentType.CUSTOMER and posting.customer_id:
        orders_fail(
            orders=orders_waiting_for_customer(customer_id=posting.customer_id, erp=posting.connection),
            reason=reason,
        )
    elif posting.document_type == DocumentType.SALES_ORDER and posting.order_id:
        orders_fail(orders=[posting.order], reason=reason)
    elif posting.document_type == DocumentType.RECEIPT and posting.transaction_id:
        order = posting.transaction.order
        if order is not None and posting.transaction.transaction_type in Transaction.PAYMENT_TYPES:
            orders_fail(orders=[order], reason=reason)
