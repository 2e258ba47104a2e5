"""What the soak's verdict reads: PayTrace's and the ERP simulators' own tables, and our transactions and
outbox, through the ORM of the bench process (set up on the scratch database).

Each ERP keeps its documents its own way; here each is turned into `ErpDocument` rows signed as they move
a customer's net:
- Sage 300: receipt entries of CA batches (CheckReceiptNumber), credit notes of AR invoice batches
  (DocumentNumber), reversals as AD adjustment entries (EntryReference, the sum of their GL distributions);
  a document moved balances once its batch is Posted;
- Sage X3: payments (REF; a negative amount, or one naming the payment it reverses, is a reversal) and
  credit notes as GACC entries (REF; their customer lines, credit minus debit);
- Sage Pro: cash receipts (CHECKNO; a REVERSAL row carries a negative amount) and CM documents
  (REFERENCE, a negative amount)."""

from decimal import Decimal

from bench.soak_ledger import (
    APPROVED,
    CREDIT_MEMO,
    DECLINED,
    HELD,
    OTHER,
    RECEIPT,
    REFUND,
    REVERSAL,
    SALE,
    VOIDED,
    ErpDocument,
    PayTraceFact,
    Posting,
)

KINDS = {"SALE": SALE, "REFUND": REFUND}


def _decimal(value: object) -> Decimal:
    return Decimal(str(value or 0))


def paytrace_facts(*, username: str) -> list[PayTraceFact]:
    from simulators.paytrace.models import PtTransaction

    rows = PtTransaction.objects.filter(account__username=username).values_list(
        "pk", "kind", "amount", "status_message", "customer_id", "original_id"
    )
    outcomes = {"Voided": VOIDED, "Declined": DECLINED}
    return [
        PayTraceFact(
            transaction_id=str(pk),
            kind=KINDS.get(kind, OTHER),
            outcome=outcomes.get(message, APPROVED),
            amount=amount,
            customer=customer_id,
            original_id=str(original_id or ""),
        )
        for pk, kind, amount, message, customer_id, original_id in rows
    ]


def transactions_recorded(*, paytrace) -> set[str]:
    from payments.models import Transaction

    return set(Transaction.objects.filter(connection=paytrace).values_list("transaction_id", flat=True))


def postings_read(*, erp) -> list[Posting]:
    from integrations.models import ErpPosting
    from integrations.outbox.dependencies import PREREQUISITE_DEAD

    rows = ErpPosting.objects.filter(connection=erp, document_type__in=[RECEIPT, CREDIT_MEMO, REVERSAL])
    return [
        Posting(
            document_type=document_type,
            reference=reference,
            status=status,
            reason=f"[{code}] {error}" if code else error,
            waits_for=(prerequisite or "") if status == HELD and code == PREREQUISITE_DEAD else "",
        )
        for document_type, reference, status, code, error, prerequisite in rows.values_list(
            "document_type", "reference", "status", "last_error_code", "last_error", "depends_on__reference"
        )
    ]


def _sage300_documents() -> list[ErpDocument]:
    """AR documents are in their customer's currency."""
    from simulators.sage300.models import Batch, Customer

    currency = dict(Customer.objects.values_list("number", "currency"))
    documents = []
    kinds = [Batch.Kind.AR_RECEIPT, Batch.Kind.AR_INVOICE, Batch.Kind.AR_ADJUSTMENT]
    for kind, status, payload in Batch.objects.filter(kind__in=kinds).values_list(
        "kind", "status", "payload"
    ):
        posted = status == "Posted"
        if kind == Batch.Kind.AR_RECEIPT:
            documents += [
                ErpDocument(
                    RECEIPT,
                    entry["CheckReceiptNumber"],
                    entry["CustomerNumber"],
                    _decimal(entry["CustomerReceiptAmount"]),
                    posted,
                    currency.get(entry["CustomerNumber"], ""),
                )
                for entry in payload.get("ReceiptsAdjustments") or []
            ]
        elif kind == Batch.Kind.AR_INVOICE:
            documents += [
                ErpDocument(
                    CREDIT_MEMO,
                    entry["DocumentNumber"],
                    entry["CustomerNumber"],
                    -_decimal(entry["DocumentTotalIncludingTax"]),
                    posted,
                    currency.get(entry["CustomerNumber"], ""),
                )
                for entry in payload.get("Invoices") or []
                if entry.get("DocumentType") == "CreditNote"
            ]
        else:
            # Crediting the bank's GL account (a negative distribution) gives the receipt back.
            documents += [
                ErpDocument(
                    REVERSAL,
                    entry.get("EntryReference") or "",
                    entry["CustomerNumber"],
                    sum(
                        (
                            _decimal(distribution["DistributionAmount"])
                            for line in entry.get("AppliedReceiptsAdjustments") or []
                            for distribution in line.get("AdjustmentGLDistributions") or []
                        ),
                        Decimal("0"),
                    ),
                    posted,
                    currency.get(entry["CustomerNumber"], ""),
                )
                for entry in payload.get("ReceiptsAdjustments") or []
            ]
    return documents


def _x3_documents() -> list[ErpDocument]:
    from simulators.x3.models import X3JournalLine, X3Payment

    documents = [
        ErpDocument(REVERSAL if reverses or amount < 0 else RECEIPT, ref, customer, amount, True, currency)
        for ref, customer, amount, reverses, currency in X3Payment.objects.values_list(
            "ref", "customer__bpcnum", "amtcur", "reverses_id", "cur"
        )
    ]
    credits: dict[tuple[int, str, str, str], Decimal] = {}
    for entry, ref, currency, customer, sense, amount in X3JournalLine.objects.exclude(bpr="").values_list(
        "entry_id", "entry__ref", "entry__cur", "bpr", "sns", "amtcur"
    ):
        key = (entry, ref, customer, currency)
        credits[key] = credits.get(key, Decimal("0")) + sense * amount
    documents += [
        ErpDocument(CREDIT_MEMO, ref, customer, amount, True, currency)
        for (_, ref, customer, currency), amount in credits.items()
    ]
    return documents


def _sagepro_documents() -> list[ErpDocument]:
    from simulators.sagepro.models import SproInvoice, SproReceipt

    documents = [
        ErpDocument(
            REVERSAL if status == SproReceipt.Status.REVERSAL else RECEIPT,
            checkno,
            customer,
            amount,
            True,
            currency,
        )
        for checkno, customer, amount, status, currency in SproReceipt.objects.values_list(
            "checkno", "customer__custno", "payamt", "status", "currency"
        )
    ]
    documents += [
        ErpDocument(CREDIT_MEMO, reference, customer, amount, True, currency)
        for reference, customer, amount, currency in SproInvoice.objects.filter(
            doctype=SproInvoice.DocType.CREDIT_MEMO
        ).values_list("reference", "customer__custno", "invamt", "currency")
    ]
    return documents


DOCUMENT_READERS = {"sage_300": _sage300_documents, "sage_x3": _x3_documents, "sage_pro": _sagepro_documents}


def erp_documents(*, erp_system: str) -> list[ErpDocument]:
    return DOCUMENT_READERS[erp_system]()


def currency_rates(*, into: str) -> dict[str, Decimal]:
    """The portal's own rates into `into` (the latest of each currency): what our side converted with."""
    from integrations.models import CurrencyRate

    rows = CurrencyRate.objects.filter(to_currency=into).order_by("valid_from")
    return dict(rows.values_list("from_currency", "rate"))


def erp_receipt_present(*, erp_system: str, reference: str) -> bool:
    """Whether a receipt carrying `reference` moved balances in the ERP: cheap enough to ask every second."""
    if erp_system == "sage_300":
        from simulators.sage300.models import PostedReceipt

        return PostedReceipt.objects.filter(check_receipt_number=reference).exists()
    if erp_system == "sage_x3":
        from simulators.x3.models import X3Payment

        return X3Payment.objects.filter(ref=reference, amtcur__gt=0, reverses__isnull=True).exists()
    from simulators.sagepro.models import SproReceipt

    return SproReceipt.objects.filter(checkno=reference).exclude(status=SproReceipt.Status.REVERSAL).exists()
