"""Refunds and voids started from the portal: PayTrace first, then the result read back and decided.

Before settlement PayTrace can only void (the whole amount); after, it can only refund (in full or in
part, up to what is left). The choice follows our status, and PayTrace's own answer settles a race: 817
("only settled transactions can be refunded") means void instead, 818 ("only pending-settlement
transactions can be voided") means refund instead. The outcome is re-read from PayTrace by id and goes
through the one upsert, so the credit memo or the receipt reversal is planned exactly as for a refund made
anywhere else."""

import hashlib
import json
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction as db_transaction

from integrations.audit import audit_record
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceDeclined, PayTraceError, PayTraceValidationError
from integrations.paytrace.types import TransactionResult
from payments.models import ZERO, CreditMemo, RefundRequest, RiskAssessment, Transaction
from payments.risk.services import HOLDING_STATUSES, risk_assessment_approve, risk_assessment_reject
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from portal.money import money_quantize

Status = Transaction.Status
REFUND_NOT_SETTLED, VOID_NOT_PENDING = 817, 818
REFUNDABLE_STATUSES = (Status.APPROVED, Status.SETTLED, Status.PARTIALLY_REFUNDED)


class RefundRefused(Exception):
    """The refund cannot be made as asked; the message says why, in words finance can act on."""


def transaction_refundable_amount(*, transaction: Transaction) -> Decimal:
    return transaction.amount - transaction.amount_refunded


def _amount_check(*, sale: Transaction, amount: Decimal | None) -> Decimal:
    if sale.transaction_type not in Transaction.PAYMENT_TYPES:
        raise RefundRefused(f"{sale} is not a payment: only sales can be refunded or voided.")
    if sale.status not in REFUNDABLE_STATUSES:
        raise RefundRefused(f"{sale} is {sale.get_status_display().lower()}: there is nothing to refund.")
    remaining = transaction_refundable_amount(transaction=sale)
    if amount is None:
        return remaining
    amount = money_quantize(amount, sale.currency)
    if amount <= ZERO:
        raise RefundRefused("The amount to refund must be positive.")
    if amount > remaining:
        raise RefundRefused(
            f"At most {remaining} {sale.currency} of {sale.transaction_id} can be refunded"
            f" ({sale.amount_refunded} of {sale.amount} already is); {amount} was asked."
        )
    return amount


def _is(error: PayTraceError, code: int) -> bool:
    return isinstance(error, PayTraceValidationError) and code in error.codes


def _void(client: PayTraceClient, sale: Transaction) -> TransactionResult:
    if sale.payment_method == Transaction.PaymentMethod.ACH:
        return client.check_void(check_transaction_id=sale.transaction_id)
    return client.void(transaction_id=sale.transaction_id)


def _refund(client: PayTraceClient, sale: Transaction, amount: Decimal) -> TransactionResult:
    partial = amount if amount < sale.amount else None
    if sale.payment_method == Transaction.PaymentMethod.ACH:
        return client.check_refund(check_transaction_id=sale.transaction_id, amount=partial)
    return client.refund_for_transaction(transaction_id=sale.transaction_id, amount=partial)


def _paytrace_call(
    *, client: PayTraceClient, sale: Transaction, amount: Decimal
) -> tuple[str, TransactionResult]:
    """("void" | "refund", PayTrace's answer), falling back on 817 / 818."""
    whole = amount == sale.amount and sale.amount_refunded == ZERO
    first = "void" if sale.status == Status.APPROVED else "refund"
    if first == "void" and not whole:
        raise RefundRefused(
            f"{sale.transaction_id} has not settled yet: PayTrace can only void all of it now. Refund"
            " part of it after settlement, or void the whole amount."
        )
    try:
        return first, (_void(client, sale) if first == "void" else _refund(client, sale, amount))
    except PayTraceValidationError as error:
        if first == "void" and _is(error, VOID_NOT_PENDING):
            return "refund", _refund(client, sale, amount)  # it settled since we last looked
        if first == "refund" and _is(error, REFUND_NOT_SETTLED) and whole:
            return "void", _void(client, sale)  # not settled after all
        raise


def _refund_decided_by_its_author(
    *, refund: Transaction, actor: AbstractBaseUser | None, reason: str
) -> None:
    """A refund finance started here has had its human review already: the risk rules that fire on it
    (a refund right after its sale is what a correction looks like) do not hold it. A refund of a sale
    that is itself held stays held with it, so the ERP never sees a credit memo before its receipt."""
    flagged = RiskAssessment.objects.filter(transaction=refund, status=RiskAssessment.Status.FLAGGED).first()
    sale_held = RiskAssessment.objects.filter(
        transaction_id=refund.original_id, status__in=HOLDING_STATUSES
    ).exists()
    if flagged is not None and not sale_held:
        risk_assessment_approve(
            assessment=flagged, actor=actor, reason=f"refund started in the portal: {reason}"
        )


def transaction_refund_start(
    *,
    transaction: Transaction,
    amount: Decimal | None,
    reason: str,
    actor: AbstractBaseUser | None,
    client: PayTraceClient | None = None,
    request_id: str = "",
) -> Transaction:
    """Refund `amount` of a sale (all that remains when None), or void it while unsettled. Returns the
    refund transaction, or the voided sale."""
    if not reason.strip():
        raise RefundRefused("A reason is required.")
    sale = Transaction.objects.select_related("connection").get(pk=transaction.pk)
    amount = _amount_check(sale=sale, amount=amount)
    client = client or PayTraceClient.from_connection(sale.connection)
    try:
        action, result = _paytrace_call(client=client, sale=sale, amount=amount)
    except PayTraceDeclined as declined:
        raise RefundRefused(
            f"PayTrace declined the refund of {sale.transaction_id}: {declined}"
        ) from declined
    except PayTraceError as error:
        raise RefundRefused(f"PayTrace refused {sale.transaction_id}: {error}") from error
    changed_id = sale.transaction_id if action == "void" else result.transaction_id
    raw = client.transaction_export_by_id(transaction_id=changed_id)
    outcome = sale
    if raw is not None:
        outcome = paytrace_record_ingest(
            connection=sale.connection, client=client, raw=raw, on_change=transaction_decide
        ).transaction
    if action == "refund":
        CreditMemo.objects.filter(refund=outcome, reason="").update(reason=reason[:255])
        _refund_decided_by_its_author(refund=outcome, actor=actor, reason=reason)
    audit_record(
        action=f"transaction.{action}",
        subject=sale,
        actor=actor,
        reason=reason,
        data={
            "amount": str(amount),
            "paytrace_transaction_id": changed_id,
            "response_code": result.response_code,
            **({"request_id": request_id} if request_id else {}),
        },
    )
    return outcome


def risk_assessment_reject_and_refund(
    *, assessment: RiskAssessment, actor: AbstractBaseUser | None, reason: str
) -> RiskAssessment:
    """Reject a flagged transaction and give the money back in PayTrace: a void before settlement, which
    cancels the held receipt; a refund after, whose credit memo is held with it. The rejection is committed
    first and stands if PayTrace refuses; `RefundRefused` then says why."""
    assessment = risk_assessment_reject(assessment=assessment, actor=actor, reason=reason)
    transaction_refund_start(
        transaction=assessment.transaction, amount=None, reason=f"risk review rejected: {reason}", actor=actor
    )
    return assessment


class RefundRequestConflict(Exception):
    """The request id was used before for another sale, amount or reason."""


def refund_request_hash(*, sale: Transaction, amount: Decimal | None, reason: str) -> str:
    canonical = json.dumps(
        {
            "sale": sale.transaction_id,
            "amount": str(amount) if amount is not None else None,
            "reason": reason,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def transaction_refund_request(
    *,
    transaction: Transaction,
    amount: Decimal | None,
    reason: str,
    actor: AbstractBaseUser | None,
    request_id: str,
    client: PayTraceClient | None = None,
) -> tuple[Transaction, bool]:
    """`transaction_refund_start` for callers that may send the same request twice (the API). The request
    is a row unique per (PayTrace connection, request id), so two web processes cannot both act on it: the
    same request again answers with what it did, and PayTrace is not called again. Returns the outcome and
    whether it was made now. A refused request leaves no row, so it may be sent again once fixed."""
    request_hash = refund_request_hash(sale=transaction, amount=amount, reason=reason)
    try:
        with db_transaction.atomic():
            request, created = RefundRequest.objects.get_or_create(
                connection_id=transaction.connection_id,
                request_id=request_id,
                defaults={"sale": transaction, "request_hash": request_hash},
            )
    except IntegrityError:  # another process created it between our read and our insert
        request, created = (
            RefundRequest.objects.get(connection_id=transaction.connection_id, request_id=request_id),
            False,
        )
    if not created:
        return _refund_request_repeated(request=request, request_hash=request_hash), False
    try:
        outcome = transaction_refund_start(
            transaction=transaction,
            amount=amount,
            reason=reason,
            actor=actor,
            client=client,
            request_id=request_id,
        )
    except RefundRefused:
        request.delete()
        raise
    RefundRequest.objects.filter(pk=request.pk).update(status=RefundRequest.Status.DONE, outcome=outcome)
    return outcome, True


def _refund_request_repeated(*, request: RefundRequest, request_hash: str) -> Transaction:
    if request.request_hash != request_hash:
        raise RefundRequestConflict(
            f"Request {request.request_id} was already used for another refund: send a new request id."
        )
    if request.status != RefundRequest.Status.DONE:
        # Still running elsewhere, or its process died after asking PayTrace: never ask twice.
        raise RefundRefused(
            f"Request {request.request_id} for {request.sale.transaction_id} is already being processed;"
            " if it does not finish, check the sale's refunds in the portal before sending a new request id."
        )
    return request.outcome
