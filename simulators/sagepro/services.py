"""Writes of the Sage Pro simulator. Every function takes one upper-case record (gateway JSON or a
grouped import row), validates it and applies it in one transaction, or raises `SproError`."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from simulators import demo_data
from simulators.sagepro.fields import SproError, day, decimal, positive, rows, text
from simulators.sagepro.models import (
    SproApplication,
    SproCustomer,
    SproGlAccount,
    SproGlBatch,
    SproGlLine,
    SproInvoice,
    SproItem,
    SproOrder,
    SproOrderLine,
    SproPaymentNote,
    SproReceipt,
    SproSequence,
    SproSite,
    SproStock,
)

DEFAULT_SITE = "DEMO"
DEFAULT_LOCATION = "WH1"
CHART_OF_ACCOUNTS = (
    ("1000", "Bank - operating"),
    ("1050", "Card clearing"),
    ("1200", "Accounts receivable"),
    ("4000", "Sales"),
    ("4100", "Sales returns and refunds"),
    ("6100", "Card processing fees"),
    ("6200", "Chargebacks"),
    ("6900", "Bad debt write-off"),
)
CUSTOMER_TEXT_FIELDS = {
    "COMPANY": 40,
    "ADDRESS1": 40,
    "ADDRESS2": 40,
    "CITY": 20,
    "STATE": 10,
    "ZIP": 10,
    "COUNTRY": 2,
    "PHONE": 20,
    "EMAIL": 60,
    "TERMS": 20,
    "CURRENCY": 3,
    "REFERENCE": 30,
}


# --- sites and demo data ---------------------------------------------------------------------------


def sandbox_sagepro_site_ensure(*, site: str, api_key: str, company: str = "") -> SproSite:
    obj, _ = SproSite.objects.update_or_create(
        site=site.upper(), defaults={"api_key": api_key, "company": company or f"{site.upper()} Company"}
    )
    return obj


@transaction.atomic
def sandbox_sagepro_seed(*, site: str, today: date | None = None) -> None:
    """Demo customers, stocked items, the chart of accounts and open invoices; safe to run again."""
    obj = SproSite.objects.get(site=site.upper())
    today = today or timezone.now().date()
    for glacnt, descrip in CHART_OF_ACCOUNTS:
        SproGlAccount.objects.get_or_create(site=obj, glacnt=glacnt, defaults={"descrip": descrip})
    customers = {}
    for c in demo_data.CUSTOMERS:
        customers[c.number], _ = SproCustomer.objects.get_or_create(
            site=obj,
            custno=c.number,
            defaults={
                "company": c.name,
                "address1": c.street,
                "city": c.city,
                "state": c.state,
                "zip": c.postal_code,
                "country": c.country,
                "phone": c.phone,
                "email": c.email,
                "terms": "NET 30",
                "currency": c.currency,
                "reference": c.number,
            },
        )
    for i in demo_data.ITEMS:
        item, _ = SproItem.objects.get_or_create(
            site=obj, item=i.sku, defaults={"descrip": i.description, "price": i.unit_price}
        )
        SproStock.objects.get_or_create(item=item, loctid=i.location, defaults={"onhand": i.on_hand})
    for inv in demo_data.INVOICES:
        customer = customers[inv.customer_number]
        SproInvoice.objects.get_or_create(
            site=obj,
            invno=inv.number,
            defaults={
                "customer": customer,
                "invdate": inv.issued_on(today),
                "duedate": inv.due_on(today),
                "invamt": inv.amount,
                "balance": inv.amount,
                "currency": customer.currency,
                "ponum": inv.reference,
                "glacct": "4000",
            },
        )


# --- shared look-ups ------------------------------------------------------------------------------


def _sequence_locked(*, site: SproSite, name: str, start: int = 0) -> SproSequence:
    sequence, _ = SproSequence.objects.select_for_update().get_or_create(
        site=site, name=name, defaults={"value": start}
    )
    return sequence


def _number_next(*, site: SproSite, name: str, prefix: str, width: int = 6, start: int = 0) -> str:
    sequence = _sequence_locked(site=site, name=name, start=start)
    sequence.value += 1
    sequence.save(update_fields=["value"])
    return f"{prefix}{sequence.value:0{width}d}"


def _customer(*, site: SproSite, data: dict[str, Any]) -> SproCustomer:
    custno = text(data, "CUSTNO", max_length=10, required=True).upper()
    customer = SproCustomer.objects.filter(site=site, custno=custno).first()
    if customer is None:
        raise SproError("UNKNOWN_CUSTOMER", f"customer {custno} does not exist", field="CUSTNO")
    return customer


def _currency(*, data: dict[str, Any], customer: SproCustomer) -> str:
    currency = text(data, "CURRENCY", max_length=3).upper() or customer.currency
    if currency != customer.currency:
        raise SproError(
            "CURRENCY_MISMATCH",
            f"customer {customer.custno} is billed in {customer.currency}, not {currency}",
            field="CURRENCY",
        )
    return currency


def _account(*, site: SproSite, glacnt: str, field: str) -> SproGlAccount:
    account = SproGlAccount.objects.filter(site=site, glacnt=glacnt, active=True).first()
    if account is None:
        raise SproError("UNKNOWN_ACCOUNT", f"GL account {glacnt} is not in the chart", field=field)
    return account


def _invoice_locked(*, site: SproSite, invno: str, customer: SproCustomer, field: str) -> SproInvoice:
    invoice = (
        SproInvoice.objects.select_for_update()
        .filter(site=site, invno=invno.upper(), doctype=SproInvoice.DocType.INVOICE)
        .first()
    )
    if invoice is None:
        raise SproError("UNKNOWN_INVOICE", f"invoice {invno} does not exist", field=field)
    if invoice.customer_id != customer.pk:
        raise SproError(
            "INVOICE_CUSTOMER_MISMATCH", f"invoice {invno} belongs to {invoice.customer.custno}", field=field
        )
    return invoice


def _conflict(code: str, message: str, field: str) -> SproError:
    return SproError(code, message, field=field, status=409)


# --- customers ------------------------------------------------------------------------------------


def _customer_apply(*, customer: SproCustomer, data: dict[str, Any], partial: bool) -> None:
    for name, max_length in CUSTOMER_TEXT_FIELDS.items():
        if not partial or name in data:
            setattr(customer, name.lower(), text(data, name, max_length=max_length))
    if not partial or "CREDITLMT" in data:
        customer.creditlmt = decimal(data, "CREDITLMT", required=False)
    customer.currency = customer.currency.upper() or "USD"
    customer.country = customer.country.upper()
    if not customer.company:
        raise SproError("REQUIRED", "COMPANY is required", field="COMPANY")
    if customer.email and "@" not in customer.email:
        raise SproError("INVALID_EMAIL", f"EMAIL is not an e-mail address: {customer.email}", field="EMAIL")


@transaction.atomic
def sandbox_sagepro_customer_create(*, site: SproSite, data: dict[str, Any]) -> SproCustomer:
    custno = text(data, "CUSTNO", max_length=10).upper()
    if custno and SproCustomer.objects.filter(site=site, custno=custno).exists():
        raise _conflict("DUPLICATE_CUSTNO", f"customer {custno} already exists", "CUSTNO")
    while not custno or SproCustomer.objects.filter(site=site, custno=custno).exists():
        custno = _number_next(site=site, name="CUSTNO", prefix="C", width=4, start=2000)
    customer = SproCustomer(site=site, custno=custno)
    _customer_apply(customer=customer, data=data, partial=False)
    customer.save()
    return customer


@transaction.atomic
def sandbox_sagepro_customer_update(*, site: SproSite, key: str, data: dict[str, Any]) -> SproCustomer:
    customer = SproCustomer.objects.select_for_update().filter(site=site, custno=key.upper()).first()
    if customer is None:
        raise SproError("NOT_FOUND", f"customer {key} does not exist", field="CUSTNO", status=404)
    _customer_apply(customer=customer, data=data, partial=True)
    customer.save()
    return customer


def sandbox_sagepro_customer_upsert(*, site: SproSite, data: dict[str, Any]) -> SproCustomer:
    """The customer import: a known CUSTNO updates, a blank or new one creates."""
    custno = text(data, "CUSTNO", max_length=10).upper()
    if custno and SproCustomer.objects.filter(site=site, custno=custno).exists():
        return sandbox_sagepro_customer_update(site=site, key=custno, data=data)
    return sandbox_sagepro_customer_create(site=site, data=data)


# --- AR documents: invoices and credit memos -------------------------------------------------------


@transaction.atomic
def sandbox_sagepro_invoice_create(*, site: SproSite, data: dict[str, Any]) -> SproInvoice:
    doctype = text(data, "DOCTYPE", max_length=2, default="IN").upper()
    if doctype not in SproInvoice.DocType.values:
        raise SproError("INVALID_DOCTYPE", f"DOCTYPE must be IN or CM, got {doctype}", field="DOCTYPE")
    is_memo = doctype == SproInvoice.DocType.CREDIT_MEMO
    customer = _customer(site=site, data=data)
    amount = positive(data, "INVAMT")
    invdate = day(data, "INVDATE")
    reference = text(data, "REFERENCE", max_length=30, required=is_memo)
    glacct = text(data, "GLACCT", max_length=10, default="4100" if is_memo else "4000")
    _account(site=site, glacnt=glacct, field="GLACCT")
    if is_memo and SproInvoice.objects.filter(site=site, doctype=doctype, reference=reference).exists():
        raise _conflict("DUPLICATE_REFERENCE", f"credit memo REFERENCE {reference} exists", "REFERENCE")
    invno = text(data, "INVNO", max_length=10).upper()
    invno = invno or _number_next(site=site, name=doctype, prefix=doctype)
    if SproInvoice.objects.filter(site=site, invno=invno).exists():
        raise _conflict("DUPLICATE_INVNO", f"document {invno} already exists", "INVNO")
    invoice = SproInvoice(
        site=site,
        invno=invno,
        doctype=doctype,
        customer=customer,
        invdate=invdate,
        currency=_currency(data=data, customer=customer),
        ponum=text(data, "PONUM", max_length=30),
        reference=reference,
        glacct=glacct,
        descript=text(data, "DESCRIPT", max_length=60),
    )
    if is_memo:
        applied = Decimal("0")
        invoice.applinvno = text(data, "APPLINVNO", max_length=10).upper()
        if invoice.applinvno:
            target = _invoice_locked(site=site, invno=invoice.applinvno, customer=customer, field="APPLINVNO")
            # The memo closes what is still open on the invoice; the rest stays as open credit.
            applied = min(amount, target.balance)
            target.balance -= applied
            target.save(update_fields=["balance", "updated_at"])
        invoice.invamt, invoice.balance = -amount, applied - amount
    else:
        invoice.invamt = invoice.balance = amount
        invoice.duedate = invdate + timedelta(days=30)
    invoice.save()
    return invoice


# --- cash receipts and their reversals -------------------------------------------------------------


def sandbox_sagepro_receipt_post(*, site: SproSite, data: dict[str, Any]) -> SproReceipt:
    try:
        with transaction.atomic():
            return _receipt_post(site=site, data=data)
    except IntegrityError as exc:
        # Two concurrent posts of the same receipt: the unique index decides, the loser gets a 409.
        raise _conflict("DUPLICATE_RECEIPT", f"duplicate receipt: {exc}", "CHECKNO") from exc


def _receipt_post(*, site: SproSite, data: dict[str, Any]) -> SproReceipt:
    # The receipt-number lock first, then the invoices': every receipt writer takes them in that order, so
    # an array of receipts, whose rows share one database transaction (`views._batch`), cannot deadlock
    # with another writer holding an invoice.
    _sequence_locked(site=site, name="RCPTNO")
    customer = _customer(site=site, data=data)
    payamt = positive(data, "PAYAMT")
    glacct = text(data, "GLACCT", max_length=10, default="1000")
    _account(site=site, glacnt=glacct, field="GLACCT")
    receipt = SproReceipt(
        site=site,
        customer=customer,
        checkno=text(data, "CHECKNO", max_length=20, required=True),
        paydate=day(data, "PAYDATE"),
        payamt=payamt,
        currency=_currency(data=data, customer=customer),
        paycode=text(data, "PAYCODE", max_length=10),
        bankno=text(data, "BANKNO", max_length=10),
        glacct=glacct,
        batch=text(data, "BATCH", max_length=10),
        descript=text(data, "DESCRIPT", max_length=60),
    )
    reverses = text(data, "REVERSES", max_length=10).upper()
    if reverses:
        return _receipt_reverse(receipt=receipt, rcptno=reverses)
    existing = SproReceipt.objects.filter(
        site=site, customer=customer, checkno=receipt.checkno, payamt=payamt
    ).first()
    if existing is not None:
        raise _conflict(
            "DUPLICATE_RECEIPT",
            f"receipt {existing.rcptno} already records check {receipt.checkno} of {payamt} "
            f"from customer {customer.custno}",
            "CHECKNO",
        )
    invoices: dict[str, SproInvoice] = {}
    applications = []
    for index, row in enumerate(rows(data, "APPLS")):
        field = f"APPLS[{index}]"
        invno = text(row, "APPLINVNO", max_length=10, required=True).upper()
        invoice = invoices.get(invno) or _invoice_locked(
            site=site, invno=invno, customer=customer, field=f"{field}.APPLINVNO"
        )
        amount = positive(row, "APPLAMT")
        if amount > invoice.balance:
            raise SproError(
                "APPLY_EXCEEDS_BALANCE",
                f"cannot apply {amount} to invoice {invno}: its balance is {invoice.balance}",
                field=f"{field}.APPLAMT",
            )
        invoice.balance -= amount
        invoices[invno] = invoice
        applications.append((invoice, amount))
    applied = sum((amount for _, amount in applications), Decimal("0"))
    if applied > payamt:
        raise SproError("OVER_APPLIED", f"applications of {applied} exceed PAYAMT {payamt}", field="APPLS")
    receipt.unapplied = payamt - applied  # the remainder stays on account
    receipt.rcptno = _number_next(site=site, name="RCPTNO", prefix="R")
    receipt.save()
    for invoice in invoices.values():
        invoice.save(update_fields=["balance", "updated_at"])
    SproApplication.objects.bulk_create(
        SproApplication(receipt=receipt, invoice=invoice, amount=amount) for invoice, amount in applications
    )
    return receipt


def _receipt_reverse(*, receipt: SproReceipt, rcptno: str) -> SproReceipt:
    original = SproReceipt.objects.select_for_update().filter(site=receipt.site, rcptno=rcptno).first()
    if original is None:
        raise SproError("UNKNOWN_RECEIPT", f"receipt {rcptno} does not exist", field="REVERSES")
    if original.customer_id != receipt.customer_id:
        raise SproError("RECEIPT_CUSTOMER_MISMATCH", f"{rcptno} is not this customer's", field="CUSTNO")
    if original.status == SproReceipt.Status.REVERSED:
        raise _conflict("ALREADY_REVERSED", f"receipt {rcptno} is already reversed", "REVERSES")
    if original.status != SproReceipt.Status.POSTED:
        raise SproError("NOT_REVERSIBLE", f"{rcptno} is itself a reversal", field="REVERSES")
    if receipt.payamt != original.payamt:
        raise SproError("AMOUNT_MISMATCH", f"receipt {rcptno} is for {original.payamt}", field="PAYAMT")
    for application in original.applications.all():
        invoice = SproInvoice.objects.select_for_update().get(pk=application.invoice_id)
        invoice.balance += application.amount
        invoice.save(update_fields=["balance", "updated_at"])
    original.status = SproReceipt.Status.REVERSED
    original.save(update_fields=["status", "updated_at"])
    receipt.payamt, receipt.unapplied = -original.payamt, -original.unapplied
    receipt.status, receipt.reverses = SproReceipt.Status.REVERSAL, original
    receipt.rcptno = _number_next(site=receipt.site, name="RCPTNO", prefix="R")
    receipt.save()
    return receipt


# --- sales orders ---------------------------------------------------------------------------------


@transaction.atomic
def sandbox_sagepro_order_create(*, site: SproSite, data: dict[str, Any]) -> SproOrder:
    customer = _customer(site=site, data=data)
    ponum = text(data, "PONUM", max_length=30, required=True)
    default_location = text(data, "LOCTID", max_length=6, default=DEFAULT_LOCATION).upper()
    lines = rows(data, "LINES")
    if not lines:
        raise SproError("REQUIRED", "an order needs at least one line", field="LINES")
    existing = SproOrder.objects.filter(site=site, ponum=ponum).first()
    if existing is not None:
        raise _conflict("DUPLICATE_PONUM", f"order {existing.sono} already carries PONUM {ponum}", "PONUM")
    order = SproOrder.objects.create(
        site=site,
        sono=_number_next(site=site, name="SONO", prefix="SO"),
        customer=customer,
        orddate=day(data, "ORDDATE"),
        ponum=ponum,
        currency=_currency(data=data, customer=customer),
    )
    for index, row in enumerate(lines):
        field = f"LINES[{index}]"
        sku = text(row, "ITEM", max_length=20, required=True).upper()
        item = SproItem.objects.filter(site=site, item=sku).first()
        if item is None:
            raise SproError("UNKNOWN_ITEM", f"item {sku} does not exist", field=f"{field}.ITEM")
        location = text(row, "LOCTID", max_length=6).upper() or default_location
        stock = SproStock.objects.select_for_update().filter(item=item, loctid=location).first()
        if stock is None:
            raise SproError(
                "UNKNOWN_LOCATION", f"{sku} is not stocked at {location}", field=f"{field}.LOCTID"
            )
        quantity = positive(row, "QTYORD", places=3)
        allocated = max(Decimal("0"), min(quantity, stock.onhand - stock.alloc))
        stock.alloc += allocated
        stock.save(update_fields=["alloc"])
        price = decimal(row, "PRICE") if row.get("PRICE") not in (None, "") else item.price
        SproOrderLine.objects.create(
            order=order,
            item=item,
            loctid=location,
            qtyord=quantity,
            qtyalloc=allocated,
            qtyback=quantity - allocated,
            price=price,
        )
        if allocated < quantity:
            order.status = SproOrder.Status.BACKORDER
    order.save(update_fields=["status", "updated_at"])
    return order


# --- GL journal entries ---------------------------------------------------------------------------


@transaction.atomic
def sandbox_sagepro_journal_post(*, site: SproSite, data: dict[str, Any]) -> SproGlBatch:
    reference = text(data, "REFERENCE", max_length=30, required=True)
    trandate = day(data, "TRANDATE")
    rows_in = rows(data, "LINES")
    if len(rows_in) < 2:
        raise SproError("REQUIRED", "a journal entry needs at least two lines", field="LINES")
    if SproGlBatch.objects.filter(site=site, reference=reference).exists():
        raise _conflict("DUPLICATE_REFERENCE", f"a GL batch with REFERENCE {reference} exists", "REFERENCE")
    lines = []
    for index, row in enumerate(rows_in):
        field = f"LINES[{index}]"
        glacnt = text(row, "GLACNT", max_length=10, required=True)
        account = _account(site=site, glacnt=glacnt, field=f"{field}.GLACNT")
        debit = decimal(row, "DEBIT", required=False)
        credit = decimal(row, "CREDIT", required=False)
        if debit < 0 or credit < 0 or (debit > 0) == (credit > 0):
            raise SproError("INVALID_LINE", "exactly one of DEBIT or CREDIT must be positive", field=field)
        descript = text(row, "DESCRIPT", max_length=60)
        lines.append(SproGlLine(account=account, debit=debit, credit=credit, descript=descript))
    debits = sum((line.debit for line in lines), Decimal("0"))
    credits = sum((line.credit for line in lines), Decimal("0"))
    if debits != credits:
        raise SproError("UNBALANCED", f"debits {debits} do not equal credits {credits}", field="LINES")
    batch_no = text(data, "BATCH", max_length=10).upper()
    batch_no = batch_no or _number_next(site=site, name="BATCH", prefix="GL")
    if SproGlBatch.objects.filter(site=site, batch=batch_no).exists():
        raise _conflict("DUPLICATE_BATCH", f"GL batch {batch_no} already exists", "BATCH")
    batch = SproGlBatch.objects.create(
        site=site,
        batch=batch_no,
        trandate=trandate,
        reference=reference,
        descript=text(data, "DESCRIPT", max_length=60),
    )
    for line in lines:
        line.batch = batch
    SproGlLine.objects.bulk_create(lines)
    return batch


# --- payment status notes ---------------------------------------------------------------------------


@transaction.atomic
def sandbox_sagepro_payment_note_post(*, site: SproSite, data: dict[str, Any]) -> SproPaymentNote:
    """A payment status against an invoice (INVNO), else an order (SONO), else the customer alone; the
    invoice's PAYSTATUS becomes the note's. REFERENCE is the sender's own and is unique."""
    reference = text(data, "REFERENCE", max_length=30, required=True)
    paystatus = text(data, "PAYSTATUS", max_length=20, required=True)
    customer = _customer(site=site, data=data)
    if SproPaymentNote.objects.filter(site=site, reference=reference).exists():
        raise _conflict(
            "DUPLICATE_REFERENCE", f"a payment note with REFERENCE {reference} exists", "REFERENCE"
        )
    invno = text(data, "INVNO", max_length=10).upper()
    invoice = _invoice_locked(site=site, invno=invno, customer=customer, field="INVNO") if invno else None
    sono = text(data, "SONO", max_length=10).upper()
    order = None
    if sono:
        order = SproOrder.objects.filter(site=site, sono=sono, customer=customer).first()
        if order is None:
            raise SproError(
                "UNKNOWN_ORDER", f"order {sono} of {customer.custno} does not exist", field="SONO"
            )
    note = SproPaymentNote.objects.create(
        site=site,
        noteno=_number_next(site=site, name="NOTE", prefix="PN"),
        customer=customer,
        invoice=invoice,
        order=order,
        paystatus=paystatus,
        note=text(data, "NOTE", max_length=254),
        reference=reference,
        notedate=day(data, "NOTEDATE") if data.get("NOTEDATE") else timezone.now().date(),
    )
    if invoice is not None:
        invoice.paystatus = paystatus
        invoice.save(update_fields=["paystatus", "updated_at"])
    return note
