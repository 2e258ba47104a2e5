"""The `AOWSIMPORT` sub-program: import files of the PAY (customer payments) and GACC (journal
entries) templates. Each document is imported on its own, in its own savepoint, and logged in
`O_MESSA`; a refused document does not stop the ones after it (X3 REALTIME import).

The file format is Sage's, as its online help documents AOWSIMPORT's `I_FILE` ("Import export SOAP web
service"): records joined by the separator the caller names in `I_RECORDSEP`, fields separated by `;`, the
file closed by an `END` record. The wording of the `O_MESSA` log lines is ours: no published answer shows
X3's."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import DatabaseError, transaction

from simulators.x3.models import (
    X3Account,
    X3Folder,
    X3Invoice,
    X3JournalEntry,
    X3JournalLine,
    X3Payment,
    X3PaymentLine,
    X3PayType,
)
from simulators.x3.services import (
    X3Refusal,
    counter_next,
    customer_for,
    mandatory,
    parse_x3_date,
    parse_x3_decimal,
)

Record = dict[str, str]

FIELD_SEPARATOR = ";"
END_RECORD = "END"

# The import templates as this folder has them set up (GESAOE): per record kind (H header, L line), the
# fields in the order a record carries them. A template is a customer's set-up, not a Sage standard;
# PAY writes customer payments (PAYMENTH/PAYMENTD), GACC journal entries (GACCENTRY/GACCENTRYD).
_LAYOUTS = {
    "PAY": {"H": "PAYTYP BPR ACCDAT CUR AMTCUR REF DES BAN", "L": "VCRTYP VCRNUM AMTLIN"},
    "GACC": {"H": "TYP ACCDAT CUR REF DESVCR", "L": "ACCNUM BPR SNS AMTCUR DES"},
}


@dataclass
class ImportDocument:
    header: Record
    lines: list[Record] = field(default_factory=list)
    error: str = ""  # a malformed line makes the whole document fail


@dataclass
class ImportRun:
    request: str
    log: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    applied: int = 0


def _documents(template: str, text: str, separator: str) -> list[ImportDocument]:
    layout = _LAYOUTS[template]
    documents: list[ImportDocument] = []
    for raw in text.split(separator or "\n"):
        values = raw.strip().split(FIELD_SEPARATOR)
        kind = values[0]
        if kind in ("", END_RECORD):
            continue
        names = layout[kind].split() if kind in layout else None
        record = dict(zip(names or (), values[1:], strict=False))
        if kind == "H":
            documents.append(ImportDocument(header=record))
        elif not documents:
            raise X3Refusal(f"Import file must start with a header record, got {kind!r}")
        elif names is None:
            documents[-1].error = f"Unknown record type {kind!r}"
        else:
            documents[-1].lines.append(record)
    return documents


def _invoice_locked(*, folder: X3Folder, number: str) -> X3Invoice:
    try:
        invoice = X3Invoice.objects.select_for_update(nowait=True).filter(folder=folder, num=number).first()
    except DatabaseError:
        # X3's generic message for a record another user holds ("Locked record", online help: generic
        # messages, FCT/ERR_GEN).
        raise X3Refusal(f"Invoice {number} : Locked record") from None
    if invoice is None:
        raise X3Refusal(f"Invoice {number} : Record does not exist")
    return invoice


def _payment_reverse(*, folder: X3Folder, payment: X3Payment, lines: list[Record]) -> None:
    """A negative payment cancels the one its PAY line names and gives its invoices their balance back."""
    if len(lines) != 1 or lines[0].get("VCRTYP") != "PAY":
        raise X3Refusal("A negative payment must have exactly one line of type PAY")
    original = (
        X3Payment.objects.select_for_update().filter(folder=folder, num=lines[0].get("VCRNUM", "")).first()
    )
    if original is None or original.customer_id != payment.customer_id or original.amtcur <= 0:
        raise X3Refusal(
            f"Payment {lines[0].get('VCRNUM', '')} : Record does not exist for {payment.customer.bpcnum}"
        )
    if hasattr(original, "reversed_by"):
        raise X3Refusal(f"Payment {original.num} : Already cancelled by {original.reversed_by.num}")
    if original.amtcur != -payment.amtcur:
        raise X3Refusal(
            f"Payment {original.num} : Cancellation must be for the full amount {original.amtcur}"
        )
    payment.reverses = original
    payment.save(update_fields=["reverses"])
    for line in original.lines.exclude(invoice=None):
        invoice = _invoice_locked(folder=folder, number=line.invoice.num)
        invoice.paycur -= line.amtlin
        invoice.save(update_fields=["paycur", "updated_at"])
    X3PaymentLine.objects.create(payment=payment, amtlin=payment.amtcur)


def _payment_apply(*, folder: X3Folder, payment: X3Payment, lines: list[Record]) -> None:
    for number, line in enumerate(lines, start=1):
        amount = parse_x3_decimal(line.get("AMTLIN", ""), field=f"Line {number} AMTLIN")
        if amount <= 0:
            raise X3Refusal(f"Line {number} : AMTLIN : Value must be positive")
        invoice = None
        if line.get("VCRNUM"):
            invoice = _invoice_locked(folder=folder, number=line["VCRNUM"])
            if invoice.customer_id != payment.customer_id:
                raise X3Refusal(f"Invoice {invoice.num} : Not an open item of {payment.customer.bpcnum}")
            open_amount = invoice.amtati - invoice.paycur
            if amount > open_amount:
                raise X3Refusal(f"Invoice {invoice.num} : Amount {amount} exceeds open balance {open_amount}")
            invoice.paycur += amount
            invoice.save(update_fields=["paycur", "updated_at"])
        X3PaymentLine.objects.create(payment=payment, invoice=invoice, amtlin=amount)


def _payment_import(folder: X3Folder, document: ImportDocument) -> str:
    header = document.header
    mandatory(header, "PAYTYP", "BPR", "ACCDAT", "CUR", "AMTCUR")
    paytype = X3PayType.objects.filter(folder=folder, paytyp=header["PAYTYP"]).first()
    if paytype is None:
        raise X3Refusal(f"PAYTYP : Payment type {header['PAYTYP']} : Record does not exist")
    customer = customer_for(folder=folder, bpcnum=header["BPR"])
    amount = parse_x3_decimal(header["AMTCUR"], field="AMTCUR")
    lines_total = sum(
        (parse_x3_decimal(line.get("AMTLIN", ""), field="AMTLIN") for line in document.lines), Decimal("0")
    )
    if amount == 0 or lines_total != amount:
        raise X3Refusal(f"AMTCUR : Payment amount {amount} differs from lines total {lines_total}")
    payment = X3Payment.objects.create(
        folder=folder,
        num=counter_next(folder=folder, code="PAY", prefix="PAY"),
        paytyp=paytype,
        customer=customer,
        accdat=parse_x3_date(header["ACCDAT"], field="ACCDAT"),
        cur=header["CUR"],
        amtcur=amount,
        ref=header.get("REF", "")[:30],
        des=header.get("DES", "")[:50],
        ban=header.get("BAN") or paytype.ban,
    )
    if amount < 0:
        _payment_reverse(folder=folder, payment=payment, lines=document.lines)
    else:
        _payment_apply(folder=folder, payment=payment, lines=document.lines)
    return payment.num


def _journal_import(folder: X3Folder, document: ImportDocument) -> str:
    header = document.header
    mandatory(header, "TYP", "ACCDAT", "CUR")
    if len(document.lines) < 2:
        raise X3Refusal("An entry needs at least two lines")
    entry = X3JournalEntry.objects.create(
        folder=folder,
        num=counter_next(folder=folder, code="GAS", prefix=header["TYP"]),
        typ=header["TYP"],
        accdat=parse_x3_date(header["ACCDAT"], field="ACCDAT"),
        cur=header["CUR"],
        ref=header.get("REF", "")[:30],
        desvcr=header.get("DESVCR", "")[:50],
    )
    balance = Decimal("0")
    for number, line in enumerate(document.lines, start=1):
        mandatory(line, "ACCNUM", "SNS", "AMTCUR")
        account = X3Account.objects.filter(folder=folder, accnum=line["ACCNUM"]).first()
        if account is None:
            raise X3Refusal(f"Line {number} : Account {line['ACCNUM']} : Record does not exist")
        if line["SNS"] not in ("1", "-1"):
            raise X3Refusal(f"Line {number} : SNS : Invalid value {line['SNS']}")
        if line.get("BPR"):
            customer_for(folder=folder, bpcnum=line["BPR"])
        amount = parse_x3_decimal(line["AMTCUR"], field=f"Line {number} AMTCUR")
        if amount <= 0:
            raise X3Refusal(f"Line {number} : AMTCUR : Value must be positive")
        balance += amount * int(line["SNS"])
        X3JournalLine.objects.create(
            entry=entry,
            account=account,
            bpr=line.get("BPR", ""),
            sns=int(line["SNS"]),
            amtcur=amount,
            des=line.get("DES", "")[:50],
        )
    if balance != 0:
        raise X3Refusal(f"Entry is not balanced : difference {balance}")
    return entry.num


_IMPORTERS = {"PAY": _payment_import, "GACC": _journal_import}


def import_run(*, folder: X3Folder, template: str, file_text: str, separator: str) -> ImportRun:
    if template not in _IMPORTERS:
        raise X3Refusal(f"I_MODIMP : Import template {template} : Record does not exist")
    with transaction.atomic():
        run = ImportRun(request=counter_next(folder=folder, code="IMP", prefix="IMP"))
    for index, document in enumerate(_documents(template, file_text, separator), start=1):
        try:
            if document.error:
                raise X3Refusal(document.error)
            with transaction.atomic():
                number = _IMPORTERS[template](folder, document)
        except X3Refusal as refusal:
            run.log.append(f"Record {index} : Error : {refusal}")
            run.errors.append(f"Record {index} : {refusal}")
        else:
            run.applied += 1
            run.log.append(f"Record {index} : Document {number} created")
    return run
