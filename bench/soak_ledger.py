"""The soak's verdict: PayTrace's own transactions against the ERP's own documents, with our outbox only
as the explanation of a difference.

Pure functions over plain rows (read by `bench/soak_tables.py`), so the rules are tested without
services. A PayTrace transaction says what the ERP should hold: an approved sale its amount (a receipt
carrying the sale's id), an approved refund minus its amount (a credit note carrying the refund's id), a
voided or declined sale nothing (no receipt, or a receipt and its reversal, `<sale id>-V`). A transaction
whose ERP documents do not add up to that is explained only by a dead letter or a held posting of its own
that would have made up the difference (held for review, or held behind a named receipt that is a dead
letter); anything else is unexplained and named with what our side holds.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
NO_CUSTOMER = "(none)"
REVERSAL_SUFFIX = "-V"

SALE, REFUND, OTHER = "sale", "refund", "other"
APPROVED, DECLINED, VOIDED = "approved", "declined", "voided"
RECEIPT, CREDIT_MEMO, REVERSAL = "receipt", "credit_memo", "reversal"
DEAD, HELD, CANCELLED, POSTED = "dead", "held", "cancelled", "posted"
IN_FLIGHT = frozenset({"pending", "retryable", "in_progress"})
DOCUMENT_LABELS = {RECEIPT: "receipt", CREDIT_MEMO: "credit note", REVERSAL: "reversal"}

# What a finding is: the known defects get their own names, so a run says which ones it met.
LOST = "lost: in PayTrace, not in our transactions"
NEVER_PLANNED = "recorded, never planned"
VOID_CANCELLED = "void cancelled a receipt the ERP has (no reversal)"
IN_FLIGHT_LEFT = "still in flight at the end"
POSTED_NOT_IN_ERP = "posted by us, not in the ERP"
CANCELLED_NEEDED = "posting cancelled, document needed"
WRONG_CUSTOMER = "in the ERP under another customer"
AMOUNT_DIFFERS = "other difference"
ORPHAN = "dependent document in the ERP without its receipt"
DEAD_NEEDLESSLY = "dependent dead letter whose receipt the ERP has"


@dataclass(frozen=True)
class PayTraceFact:
    """One transaction as PayTrace's own table has it."""

    transaction_id: str
    kind: str  # SALE, REFUND or OTHER
    outcome: str  # APPROVED, DECLINED or VOIDED
    amount: Decimal
    customer: str
    original_id: str = ""

    @property
    def expected(self) -> Decimal:
        """What it should add to the customer's net in the ERP."""
        if self.outcome != APPROVED:
            return ZERO
        return {SALE: self.amount, REFUND: -self.amount}.get(self.kind, ZERO)

    @property
    def documents(self) -> dict[tuple[str, str], Decimal]:
        """The ERP documents that may stand for it, by (kind, our reference), with what each would add."""
        if self.kind == SALE:
            return {
                (RECEIPT, self.transaction_id): self.amount,
                (REVERSAL, self.transaction_id + REVERSAL_SUFFIX): -self.amount,
            }
        if self.kind == REFUND:
            return {(CREDIT_MEMO, self.transaction_id): -self.amount}
        return {}


@dataclass(frozen=True)
class Posting:
    """One of our outbox rows towards the ERP under test."""

    document_type: str
    reference: str
    status: str
    reason: str = ""
    waits_for: str = ""  # held behind a dead letter (PrerequisiteDead): that receipt's reference

    @property
    def held_for_review(self) -> bool:
        return self.status == HELD and not self.waits_for


@dataclass(frozen=True)
class ErpDocument:
    """One document in the ERP's own tables; `amount` is signed as it moves the customer's net (receipts
    plus, credit notes and reversals minus), in `currency` (blank: PayTrace's), and `posted` says whether
    it moved balances."""

    kind: str
    reference: str
    customer: str
    amount: Decimal
    posted: bool = True
    currency: str = ""


@dataclass(frozen=True)
class Finding:
    transaction_id: str
    customer: str
    what: str
    detail: str
    amount: Decimal = ZERO


@dataclass
class CustomerRow:
    customer: str
    paytrace_net: Decimal = ZERO
    erp_net: Decimal = ZERO
    dead_count: int = 0
    dead_amount: Decimal = ZERO
    held_count: int = 0
    held_amount: Decimal = ZERO
    converted: int = 0  # documents in another currency: each may be a cent off once converted back

    @property
    def difference(self) -> Decimal:
        return self.paytrace_net - self.erp_net

    @property
    def unexplained(self) -> Decimal:
        rest = self.difference - self.dead_amount - self.held_amount
        return ZERO if abs(rest) <= self.converted * CENT else rest


@dataclass
class Ledger:
    rows: list[CustomerRow]
    lost: list[PayTraceFact]
    duplicates: dict[tuple[str, str], int]
    findings: list[Finding] = field(default_factory=list)
    orphans: list[Finding] = field(default_factory=list)
    dead_needlessly: list[Finding] = field(default_factory=list)
    dead_letters: list[Posting] = field(default_factory=list)
    held: list[Posting] = field(default_factory=list)  # for review
    held_behind_dead: list[Posting] = field(default_factory=list)  # each waits for a named dead receipt

    @property
    def unexplained_customers(self) -> list[CustomerRow]:
        return [row for row in self.rows if row.unexplained]

    @property
    def duplicate_documents(self) -> int:
        return sum(count - 1 for count in self.duplicates.values())

    @property
    def failed(self) -> bool:
        return bool(
            self.lost
            or self.duplicates
            or self.unexplained_customers
            or self.findings
            or self.orphans
            or self.dead_needlessly
        )


def _customer(value: str) -> str:
    return value.strip().upper() or NO_CUSTOMER


def _converted(document: ErpDocument, rates: Mapping[str, Decimal]) -> ErpDocument:
    """In PayTrace's currency, at the portal's own rate table (the rate our side converted with)."""
    if not document.currency or document.currency not in rates:
        return document
    return replace(document, amount=(document.amount * rates[document.currency]).quantize(CENT))


class _Books:
    """The rows indexed the ways the rules read them."""

    def __init__(
        self,
        *,
        facts: list[PayTraceFact],
        postings: list[Posting],
        documents: list[ErpDocument],
        rates: Mapping[str, Decimal],
    ):
        ours = {key for fact in facts for key in fact.documents}
        self.postings = {(posting.document_type, posting.reference): posting for posting in postings}
        self.documents = [
            _converted(document, rates)
            for document in documents
            if (document.kind, document.reference) in ours
        ]
        self.rates = rates
        self.posted: dict[tuple[str, str], list[ErpDocument]] = defaultdict(list)
        for document in self.documents:
            if document.posted:
                self.posted[document.kind, document.reference].append(document)

    def in_erp(self, key: tuple[str, str]) -> bool:
        return bool(self.posted.get(key))

    def behind_dead(self, posting: Posting) -> bool:
        """Held behind a receipt that is a dead letter the ERP does not have."""
        key = (RECEIPT, posting.waits_for)
        receipt = self.postings.get(key)
        return receipt is not None and receipt.status == DEAD and not self.in_erp(key)

    def explains(self, key: tuple[str, str], status: str) -> bool:
        """A posting of `status` that would have made up its document's part: dead, held for review, or
        held behind a named dead letter (one held behind anything else is a stall, not an explanation)."""
        posting = self.postings.get(key)
        if posting is None or posting.status != status or self.in_erp(key):
            return False
        return not posting.waits_for or self.behind_dead(posting)

    def posted_of(self, fact: PayTraceFact) -> list[ErpDocument]:
        return [document for key in fact.documents for document in self.posted.get(key, [])]

    def converted(self, document: ErpDocument) -> bool:
        return document.currency in self.rates


def _diagnosis(*, fact: PayTraceFact, books: _Books, recorded: set[str]) -> tuple[str, str]:
    """What a difference we cannot explain comes from, as far as our side tells."""
    postings = {key: books.postings.get(key) for key in fact.documents}
    mine = {key: posting for key, posting in postings.items() if posting is not None}
    detail = ", ".join(f"{DOCUMENT_LABELS[kind]} {posting.status}" for (kind, _), posting in mine.items())
    detail = detail or "no posting"
    if fact.transaction_id not in recorded:
        return LOST, detail
    if any(posting.status in IN_FLIGHT for posting in mine.values()):
        return IN_FLIGHT_LEFT, detail
    if not mine:
        return NEVER_PLANNED, detail
    receipt = mine.get((RECEIPT, fact.transaction_id))
    reversal_key = (REVERSAL, fact.transaction_id + REVERSAL_SUFFIX)
    if (
        fact.outcome == VOIDED
        and receipt is not None
        and receipt.status == CANCELLED
        and books.in_erp((RECEIPT, fact.transaction_id))
        and reversal_key not in mine
    ):
        return VOID_CANCELLED, detail
    if any(posting.status == POSTED and not books.in_erp(key) for key, posting in mine.items()):
        return POSTED_NOT_IN_ERP, detail
    needed = {key for key, amount in fact.documents.items() if fact.expected and amount == fact.expected}
    if any(mine.get(key) is not None and mine[key].status == CANCELLED for key in needed):
        return CANCELLED_NEEDED, detail
    return AMOUNT_DIFFERS, detail


def _transaction_check(
    *, fact: PayTraceFact, books: _Books, recorded: set[str], row: CustomerRow, ledger: Ledger
) -> None:
    customer = _customer(fact.customer)
    for key in fact.documents:
        for document in books.posted.get(key, []):
            if _customer(document.customer) != customer:
                ledger.findings.append(
                    Finding(fact.transaction_id, customer, WRONG_CUSTOMER, document.customer, document.amount)
                )
    posted = books.posted_of(fact)
    allowance = sum(books.converted(document) for document in posted) * CENT
    difference = fact.expected - sum((document.amount for document in posted), ZERO)
    if abs(difference) <= allowance:
        return
    explaining = {
        status: [(key, amount) for key, amount in fact.documents.items() if books.explains(key, status)]
        for status in (DEAD, HELD)
    }
    explained = sum((amount for pairs in explaining.values() for _, amount in pairs), ZERO)
    if abs(explained - difference) <= allowance:
        for status, pairs in explaining.items():
            amount = sum((amount for _, amount in pairs), ZERO)
            if status == DEAD:
                row.dead_count += len(pairs)
                row.dead_amount += amount
            else:
                row.held_count += len(pairs)
                row.held_amount += amount
        return
    what, detail = _diagnosis(fact=fact, books=books, recorded=recorded)
    ledger.findings.append(Finding(fact.transaction_id, customer, what, detail, difference))


def _ordering_check(*, fact: PayTraceFact, books: _Books, ledger: Ledger) -> None:
    """A credit note or a reversal must follow its receipt into the ERP, and must not give up while the
    receipt is on its way (issue 14, items 6 and 7)."""
    sale_id = fact.original_id if fact.kind == REFUND else fact.transaction_id
    if fact.kind not in (SALE, REFUND) or not sale_id:
        return
    own = (CREDIT_MEMO, fact.transaction_id) if fact.kind == REFUND else (REVERSAL, sale_id + REVERSAL_SUFFIX)
    receipt_in_erp = books.in_erp((RECEIPT, sale_id))
    label = DOCUMENT_LABELS[own[0]]
    customer = _customer(fact.customer)
    if books.in_erp(own) and not receipt_in_erp:
        ledger.orphans.append(
            Finding(fact.transaction_id, customer, ORPHAN, f"{label} {own[1]}, receipt {sale_id}")
        )
    posting = books.postings.get(own)
    if posting is not None and posting.status == DEAD and receipt_in_erp and not books.in_erp(own):
        ledger.dead_needlessly.append(
            Finding(fact.transaction_id, customer, DEAD_NEEDLESSLY, f"{label} {own[1]}: {posting.reason}")
        )


def ledger_build(
    *,
    facts: list[PayTraceFact],
    recorded: set[str],
    postings: list[Posting],
    documents: list[ErpDocument],
    rates: Mapping[str, Decimal] | None = None,
) -> Ledger:
    """`recorded`: the PayTrace ids in our transactions table; `postings`: our outbox rows towards the ERP;
    `documents`: every document in the ERP's tables, ours or not (only ours are counted); `rates`: what one
    unit of a document's currency is in PayTrace's."""
    books = _Books(facts=facts, postings=postings, documents=documents, rates=rates or {})
    counts = Counter((document.kind, document.reference) for document in books.documents)
    ledger = Ledger(
        rows=[],
        lost=[fact for fact in facts if fact.transaction_id not in recorded],
        duplicates={key: count for key, count in counts.items() if count > 1},
    )
    rows: dict[str, CustomerRow] = {}

    def row_of(customer: str) -> CustomerRow:
        return rows.setdefault(_customer(customer), CustomerRow(customer=_customer(customer)))

    for fact in facts:
        row = row_of(fact.customer)
        row.paytrace_net += fact.expected
        _transaction_check(fact=fact, books=books, recorded=recorded, row=row, ledger=ledger)
        _ordering_check(fact=fact, books=books, ledger=ledger)
    for documents_of_key in books.posted.values():
        for document in documents_of_key:
            row = row_of(document.customer)
            row.erp_net += document.amount
            row.converted += books.converted(document)
    ours = {key for fact in facts for key in fact.documents}
    mine = [posting for key, posting in books.postings.items() if key in ours]
    ledger.dead_letters = [posting for posting in mine if posting.status == DEAD]
    ledger.held = [posting for posting in mine if posting.held_for_review]
    ledger.held_behind_dead = [p for p in mine if p.waits_for and books.behind_dead(p)]
    ledger.rows = sorted(rows.values(), key=lambda row: (row.customer == NO_CUSTOMER, row.customer))
    return ledger
