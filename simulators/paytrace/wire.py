"""PayTrace's JSON shapes: transaction answers, export records, US-style local timestamps, and money as
JSON numbers (written from Decimal without passing through float).

Transaction answers carry exactly the keys PayTrace's recorded answers show, endpoint by endpoint (the
`*_KEYS` below, each citing its artefact). No artefact shows an export record, a batch summary, a
customer export or the answer to `settle` (tests/contracts/data/SOURCES.md lists what is not covered):
those shapes follow PayTrace's help pages where they describe them and are otherwise ours."""

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import HttpResponse

from simulators.paytrace.instruments import CardFacts
from simulators.paytrace.models import PtAccount, PtBatch, PtCard, PtCustomer, PtTransaction
from simulators.paytrace.selectors import account_zone

EXPORT_OK = {
    "success": True,
    "response_code": 1,
    "status_message": "Your request has been successfully completed.",
}
RESPONSE_MESSAGES = {
    101: "Your transaction was successfully approved.",
    102: "Your transaction was not approved.",
    # Sic, without "was": ActiveMerchant's successful_refund_response.
    106: "Your transaction successfully refunded.",
    107: "Your transaction was not refunded.",
    109: "Your transaction was successfully voided.",
    112: "Your transaction was successfully captured.",
    120: "Your check was successfully processed.",
    122: "Your check was successfully refunded.",
    124: "Your check was successfully managed.",
    125: "Your check was NOT successfully processed.",
}
APPROVED = frozenset({101, 106, 109, 112, 120, 122, 124})
# The keys of each answer, exactly as PayTrace's recorded answers carry them (tests/contracts/data/paytrace/,
# SOURCES.md there): PTR = the narch/paytracer sandbox cassettes, AM = ActiveMerchant's canned answers.
_CARD_KEYS = (
    "success",
    "response_code",
    "status_message",
    "transaction_id",
    "approval_code",
    "approval_message",
    "avs_response",
    "csc_response",
    "external_transaction_id",
)
# A keyed sale or authorization, approved or declined, names the card: PTR create_keyed_sale_transaction;
# AM successful_purchase, failed_purchase, successful_authorize, failed_authorize. Protect.js sales are
# taken as keyed (the card was typed in the browser): no artefact shows one.
KEYED_KEYS = (*_CARD_KEYS, "masked_card_number")
# A sale on a card PayTrace already holds does not: PTR create_sale_by_customer, create_sale_by_transaction.
# An authorization by customer is taken to answer like the sale by customer: no artefact shows one.
ON_FILE_KEYS = _CARD_KEYS
# AM successful_capture_response and successful_refund_response (refunds keyed or to a customer, and a
# refused refund, 107, are taken to answer the same: no artefact shows one).
CAPTURE_KEYS = ("success", "response_code", "status_message", "transaction_id", "external_transaction_id")
REFUND_KEYS = CAPTURE_KEYS
VOID_KEYS = ("success", "response_code", "status_message", "transaction_id")  # AM successful_void_response
# AM successful_ach_processing, successful_ach_capture_void, successful_ach_refund; a check PayTrace
# refuses (125) adds the ACH network's code and text: AM failed_ach_processing_response.
CHECK_KEYS = ("success", "response_code", "status_message", "check_transaction_id")
CHECK_REFUSED_KEYS = (*CHECK_KEYS, "ach_code", "ach_message")
_DECIMAL_MARK = "\u0000decimal:"
_DECIMAL_STRING = re.compile(r'"\\u0000decimal:(-?[0-9.]+)"')
_SALE_KINDS = (
    PtTransaction.Kind.SALE,
    PtTransaction.Kind.AUTHORIZATION,
    PtTransaction.Kind.CHECK_SALE,
    PtTransaction.Kind.CHECK_HOLD,
)
_REFUND_KINDS = (PtTransaction.Kind.REFUND, PtTransaction.Kind.CHECK_REFUND)


def _decimal_marked(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def pt_json(
    data: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    text = _DECIMAL_STRING.sub(r"\1", json.dumps(data, default=_decimal_marked))
    return HttpResponse(text, status=status, content_type="application/json; charset=utf-8", headers=headers)


def us_timestamp(value: datetime | None, account: PtAccount) -> str:
    if value is None:
        return ""
    local = value.astimezone(account_zone(account))
    hour = local.hour % 12 or 12
    return f"{local.month}/{local.day}/{local.year} {hour}:{local:%M:%S %p}"


def _masked(card: PtCard | CardFacts, *, mask: str, include_bin: bool) -> str:
    length = 15 if card.brand == "AMEX" else 16
    if include_bin and card.first6:
        return f"{card.first6}{mask * (length - 10)}{card.last4}"
    return f"{mask * (length - 4)}{card.last4}"


def masked_card_number(card: PtCard | CardFacts) -> str:
    """The answers' `masked_card_number`: "xxxxxxxxxxxx5439" (PTR create_keyed_sale_transaction)."""
    return _masked(card, mask="x", include_bin=False)


def _card_json(card: PtCard, *, include_bin: bool) -> dict[str, Any]:
    return {
        "masked_number": _masked(card, mask="*", include_bin=include_bin),
        "expiration_month": card.expiration_month,
        "expiration_year": (card.expiration_year or 0) % 100,
    }


def transaction_answer(
    txn: PtTransaction, *, keys: tuple[str, ...], response_code: int | None = None
) -> dict[str, Any]:
    """The answer to a transaction request, with the keys of its endpoint (`KEYED_KEYS`, `VOID_KEYS`...);
    `response_code` overrides the row's own (capture, void...)."""
    code = response_code or txn.response_code
    values: dict[str, Any] = {
        "success": code in APPROVED,
        "response_code": code,
        "status_message": RESPONSE_MESSAGES[code],
        "transaction_id": txn.pk,
        "check_transaction_id": txn.pk,
        "approval_code": txn.approval_code,
        "approval_message": txn.approval_message,
        "avs_response": txn.avs_response,
        "csc_response": txn.csc_response,
        "external_transaction_id": "",
        "masked_card_number": masked_card_number(txn),
        # AM failed_ach_processing_response's values: what else the ACH network may say is not shown.
        "ach_code": 0,
        "ach_message": "",
    }
    return {key: values[key] for key in keys}


def check_answer(txn: PtTransaction, *, response_code: int | None = None) -> dict[str, Any]:
    code = response_code or txn.response_code
    return transaction_answer(
        txn, keys=CHECK_REFUSED_KEYS if code == 125 else CHECK_KEYS, response_code=response_code
    )


def transaction_record(txn: PtTransaction, *, include_bin: bool) -> dict[str, Any]:
    account = txn.account
    record: dict[str, Any] = {
        "transaction_id": txn.pk,
        "transaction_type": txn.kind,
        "description": txn.description,
        "amount": txn.amount,
        "invoice_id": txn.invoice_id,
        "billing_address": txn.billing_address,
        "shipping_address": txn.shipping_address,
        "receipt_emailed_to": txn.email,
        "tax_amount": f"{txn.tax_amount}" if txn.tax_amount is not None else "",
        "customer_reference_id": txn.customer_reference_id,
        "approval_code": txn.approval_code,
        "approval_message": txn.approval_message,
        "avs_response": txn.avs_response,
        "csc_response": txn.csc_response,
        "status_code": txn.status_code,
        "status_message": txn.status_message,
        "created": {
            "through": "API",
            "at": us_timestamp(txn.created_at, account),
            "by": txn.created_by,
            "from_ip": txn.from_ip,
        },
        "settled": us_timestamp(txn.settled_at, account),
        "customer_id": txn.customer_id,
    }
    if txn.is_check:
        record["check"] = {"masked_account_number": f"xxxxxx{txn.account_last4}"}
    else:
        record["credit_card"] = _card_json(txn, include_bin=include_bin)
    if txn.original_id:
        record["original_transaction_id"] = txn.original_id
    return record


def customer_record(customer: PtCustomer) -> dict[str, Any]:
    account = customer.account
    record: dict[str, Any] = {
        "customer_id": customer.customer_id,
        "billing_address": customer.billing_address,
        "shipping_address": customer.shipping_address,
        "email": customer.email,
        "phone": customer.phone,
        "fax": customer.fax,
        "created": {"at": us_timestamp(customer.created_at, account), "by": account.username},
        "updated": {"at": us_timestamp(customer.updated_at, account)},
    }
    if customer.last4:
        record["credit_card"] = _card_json(customer, include_bin=False)
    if customer.account_last4:
        record["check"] = {"masked_account_number": f"xxxxxx{customer.account_last4}"}
    return record


def _totals(transactions: Any) -> dict[str, Any]:
    return transactions.aggregate(
        sales_count=Count("pk", filter=Q(kind__in=_SALE_KINDS)),
        sales_amount=Sum("amount", filter=Q(kind__in=_SALE_KINDS), default=Decimal("0.00")),
        refund_count=Count("pk", filter=Q(kind__in=_REFUND_KINDS)),
        refund_amount=Sum("amount", filter=Q(kind__in=_REFUND_KINDS), default=Decimal("0.00")),
    )


# The simulated processor's price list (percent of sales, fixed per sale), by brand. AMEX is priced above
# the rate the demo's GL fee rules expect, so a demo batch with an AMEX sale shows a fee mismatch.
PROCESSOR_PRICING = {
    "VISA": (Decimal("2.50"), Decimal("0.10")),
    "MASTERCARD": (Decimal("2.60"), Decimal("0.10")),
    "AMEX": (Decimal("3.95"), Decimal("0.15")),
    "DISCOVER": (Decimal("2.40"), Decimal("0.10")),
}


def _processor_fee(brand_totals: dict[str, dict[str, Any]]) -> Decimal:
    fee = Decimal("0")
    for brand, totals in brand_totals.items():
        percent, fixed = PROCESSOR_PRICING.get(brand, (Decimal("0"), Decimal("0")))
        fee += (totals["sales_amount"] * percent / 100 + fixed * totals["sales_count"]).quantize(
            Decimal("0.01")
        )
    return fee


def batch_summary(batch: PtBatch) -> dict[str, Any]:
    """Legacy BATCHNUM / WHEN / TRANXCOUNT / NETAMOUNT / SALES* / REFUND* in snake_case, with the per-brand
    breakdown of the single-batch export. UNCERTAIN: PayTrace's JSON names are not published. The fee and
    deposit stand for the processor's funding report, which a real merchant gets beside the batch."""
    transactions = batch.transactions.all()
    totals = _totals(transactions)
    brands = sorted(set(transactions.values_list("brand", flat=True)))
    by_brand = {brand: _totals(transactions.filter(brand=brand)) for brand in brands}
    net = totals["sales_amount"] - totals["refund_amount"]
    fee = _processor_fee(by_brand)
    return {
        "number": batch.number,
        "when": us_timestamp(batch.settled_at, batch.account),
        "transaction_count": totals["sales_count"] + totals["refund_count"],
        "net_amount": net,
        **totals,
        "fee_amount": fee,
        "deposit_amount": net - fee,
        "brands": by_brand,
    }
