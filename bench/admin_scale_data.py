"""The world `bench/admin_scale.py` times the admin on: N transactions over the last 365 days and the rows
that hang off them, in the proportions the issue measured (0.91 postings and attempts, one risk
assessment per transaction, 0.1 invoices, 0.5 inbox events, 0.1 customers), plus allocations, refunds and
their credit memos, settlement batches with their fee and deposit journal entries, orders, subscriptions
and a little of every review queue. Every row is computed in PostgreSQL from its sequence number `g`
(`INSERT … SELECT generate_series`, no Python loop), so the same N always gives the same rows and the
bench can name what it searches for (`probe_values`)."""

from dataclasses import dataclass

from bench.scale_sql import insert_select_sql

FIRST_NAMES = ["Ada", "Blaise", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST_NAMES = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Alvarez", "Kowalski", "Nguyen", "Brennan"]
BRANDS = ["VISA", "MASTERCARD", "AMEX", "DISCOVER"]
BATCH_SIZE = 500  # transactions per settlement batch
DAYS = 365


@dataclass(frozen=True)
class Sizes:
    transactions: int

    @property
    def customers(self) -> int:
        return max(1, self.transactions // 10)

    @property
    def invoices(self) -> int:
        return max(1, self.transactions // 10)

    @property
    def batches(self) -> int:
        return max(1, self.transactions // BATCH_SIZE)

    @property
    def orders(self) -> int:
        return max(1, self.transactions // 50)

    @property
    def subscriptions(self) -> int:
        return max(1, self.transactions // 100)


def _array(words: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{word}'" for word in words) + "]"


# g -> the transaction's kind. Of every 100: 3 refunds (of the sale 50 before), 4 declined, 1 voided,
# 1 partially refunded, the rest sales settled (or approved, pending settlement, in the last two days).
KIND = """CASE WHEN g % 100 < 3 AND g > 50 THEN 'refund' ELSE 'sale' END"""
STATUS = """CASE WHEN g % 100 < 3 AND g > 50 THEN 'settled'
    WHEN g % 100 BETWEEN 3 AND 6 THEN 'declined' WHEN g % 100 = 7 THEN 'voided'
    WHEN g % 100 = 8 THEN 'partially_refunded'
    WHEN g > {n} - {n} / {days} * 2 THEN 'approved' ELSE 'settled' END"""
AMOUNT = "(5 + (g * 37 % 50000) / 100.0)::numeric(14, 2)"
# Evenly over the last DAYS days, in id order (as rows arrive), with a few minutes of jitter.
OCCURRED = (
    "now() - interval '{days} days' + (g::float8 / {n}) * interval '{days} days' - (g % 7) * interval '1 min'"
)
CUSTOMER = "{customer0} + (g * 7 % {customers})"


def statements(*, sizes: Sizes, paytrace: int, erp: int, user: int) -> list[tuple[str, str]]:
    """(what, SQL) in the order they must run; ids are derived from each table's first id."""
    from customers.models import Customer, DuplicateCandidate
    from integrations.models import Alert, ErpPosting, ErpPostingAttempt, WebhookEvent
    from payments.models import (
        Allocation,
        CreditMemo,
        Invoice,
        JournalEntry,
        JournalEntryLine,
        Order,
        ReconciliationException,
        RiskAssessment,
        SettlementBatch,
        Subscription,
        Transaction,
    )

    n = sizes.transactions
    fmt = {
        "n": n,
        "days": DAYS,
        "customers": sizes.customers,
        "customer0": "(SELECT min(id) FROM customers_customer)",
        "batch0": "(SELECT min(id) FROM payments_settlementbatch)",
    }
    first, last = _array(FIRST_NAMES), _array(LAST_NAMES)
    name = f"({first})[1 + g % {len(FIRST_NAMES)}] || ' ' || ({last})[1 + g / 7 % {len(LAST_NAMES)}]"
    email = (
        f"lower(({first})[1 + g % {len(FIRST_NAMES)}] || '.' || ({last})[1 + g / 7 % {len(LAST_NAMES)}])"
        " || g || '@example.com'"
    )
    series = "FROM generate_series(1, {count}::bigint) g"  # bigint: g * 7919 passes 2^31
    customers = insert_select_sql(
        Customer,
        columns={
            "name": name,
            "name_normalized": f"lower({name})",
            "email": email,
            "email_normalized": email,
            "company": "'Company ' || (g % 997)",
            "postal_code": "lpad((g % 99999)::text, 5, '0')",
            "country": "'US'",
            "created_at": "now() - (g % 400) * interval '1 day'",
        },
        source=series.format(count=sizes.customers),
    )
    batches = insert_select_sql(
        SettlementBatch,
        columns={
            "connection_id": str(paytrace),
            "batch_number": "(700000 + g)::text",
            "status": "CASE WHEN g % 50 = 0 THEN 'exceptions' ELSE 'reconciled' END",
            "settled_at": (
                f"now() - interval '{DAYS} days' + (g::float8 * {BATCH_SIZE} / {n}) * interval '{DAYS} days'"
                " + interval '1 day'"
            ),
            "reconciled_at": "now()",
        },
        source=series.format(count=sizes.batches),
    )
    transactions = insert_select_sql(
        Transaction,
        columns={
            "connection_id": str(paytrace),
            "transaction_id": "(100000000 + g)::text",
            "transaction_type": KIND,
            "status": STATUS.format(**fmt),
            "payment_method": "CASE WHEN g % 20 = 9 THEN 'ach' ELSE 'card' END",
            "amount": AMOUNT,
            "amount_refunded": f"CASE WHEN g % 100 = 8 THEN round({AMOUNT} / 2, 2) ELSE 0 END",
            "customer_id": f"CASE WHEN g % 10 = 5 THEN NULL ELSE {CUSTOMER.format(**fmt)} END",
            "card_brand": f"CASE WHEN g % 20 = 9 THEN '' ELSE ({_array(BRANDS)})[1 + g % 4] END",
            "last4": "CASE WHEN g % 20 = 9 THEN '' ELSE lpad((g * 7919 % 10000)::text, 4, '0') END",
            "approval_code": "'TAS' || lpad((g % 1000)::text, 3, '0')",
            "status_message": "'Your transaction was successfully approved.'",
            "paytrace_status_code": "'Y'",
            "billing_name": name,
            "billing_postal_code": "lpad((g % 99999)::text, 5, '0')",
            "billing_country": "'US'",
            "email": email,
            "occurred_at": OCCURRED.format(**fmt),
            "settlement_batch_id": (
                f"CASE WHEN g > {n} - {n} / {DAYS} * 2 OR g % 100 BETWEEN 3 AND 7 THEN NULL "
                f"ELSE {fmt['batch0']} + least((g - 1) / {BATCH_SIZE}, {sizes.batches - 1}) END"
            ),
            "settled_at": f"{OCCURRED.format(**fmt)} + interval '1 day'",
        },
        source=series.format(count=n),
    )
    link_refunds = """
UPDATE payments_transaction r SET original_id = r.id - 50
WHERE r.transaction_type = 'refund' AND r.id - 50 >= (SELECT min(id) FROM payments_transaction)"""
    orders = insert_select_sql(
        Order,
        columns={
            "order_id": "'SO-' || (500000 + g)",
            "erp_connection_id": str(erp),
            "customer_id": CUSTOMER.format(**fmt),
            "status": "CASE WHEN g % 40 = 0 THEN 'failed' ELSE 'posted' END",
            "currency": "'USD'",
            "total": AMOUNT,
            "erp_order_number": "'ORD' || (500000 + g)",
            "paytrace_transaction_id": "(100000000 + g * 50 + 10)::text",
            "request_hash": "md5(g::text) || md5(g::text)",
            "created_at": OCCURRED.format(**{**fmt, "n": sizes.orders}),
        },
        source=series.format(count=sizes.orders),
    )
    link_orders = """
UPDATE payments_transaction t SET order_id = o.id FROM payments_order o
WHERE t.transaction_id = o.paytrace_transaction_id"""
    # Invoice i is paid in full by the sale 10 i + 10 (a settled card sale: g % 100 is a multiple of 10).
    invoices = insert_select_sql(
        Invoice,
        columns={
            "connection_id": str(erp),
            "invoice_number": "'INV-' || (100000 + g)",
            "customer_id": CUSTOMER.format(**fmt),
            "reference": "'PO-' || (300000 + g)",
            "status": "CASE WHEN g % 5 = 0 THEN 'open' ELSE 'paid' END",
            "amount": AMOUNT.replace("g", "(g * 10 + 10)"),
            "balance": f"CASE WHEN g % 5 = 0 THEN {AMOUNT.replace('g', '(g * 10 + 10)')} ELSE 0 END",
            "issued_on": f"(now() - interval '{DAYS} days' + (g::float8 / {sizes.invoices}) "
            f"* interval '{DAYS} days')::date",
            "due_on": f"(now() - interval '{DAYS - 30} days' + (g::float8 / {sizes.invoices}) "
            f"* interval '{DAYS} days')::date",
        },
        source=series.format(count=sizes.invoices),
    )
    allocations = insert_select_sql(
        Allocation,
        columns={
            "payment_id": "t.id",
            "invoice_id": "i.id",
            "amount": "i.amount",
            "currency": "'USD'",
            "rule": "'reference'",
            "created_at": "t.occurred_at + interval '1 hour'",
        },
        source="""FROM payments_invoice i JOIN payments_transaction t
    ON t.transaction_id = (100000000 + (substr(i.invoice_number, 5)::int - 100000) * 10 + 10)::text
WHERE i.status = 'paid' AND t.status = 'settled' AND t.transaction_type = 'sale'""",
    )
    applied = """
UPDATE payments_transaction t SET amount_applied = a.amount, invoice_reference = i.invoice_number
FROM payments_allocation a JOIN payments_invoice i ON i.id = a.invoice_id
WHERE a.payment_id = t.id"""
    received = "t.status IN ('approved', 'settled', 'partially_refunded')"
    postings = insert_select_sql(
        ErpPosting,
        columns={
            "connection_id": str(erp),
            "document_type": "CASE WHEN t.transaction_type = 'refund' THEN 'credit_memo' ELSE 'receipt' END",
            "reference": "t.transaction_id",
            "status": "CASE WHEN t.id % 1000 = 7 THEN 'dead' WHEN t.id % 2000 = 11 THEN 'pending' "
            "WHEN t.id % 2000 = 13 THEN 'held' ELSE 'posted' END",
            "payload": """jsonb_build_object('amount', t.amount::text, 'customer', t.customer_id)""",
            "erp_document_number": "CASE WHEN t.id % 1000 = 7 OR t.id % 2000 IN (11, 13) THEN '' "
            "ELSE 'CA2-' || t.id END",
            "attempt_count": "CASE WHEN t.id % 1000 = 7 THEN 8 "
            "WHEN t.id % 2000 IN (11, 13) THEN 0 ELSE 1 END",
            "last_error_code": "CASE WHEN t.id % 1000 = 7 THEN 'CustomerOnHold' ELSE '' END",
            "last_error": "CASE WHEN t.id % 1000 = 7 THEN 'Customer is on hold' ELSE '' END",
            "posted_at": "CASE WHEN t.id % 1000 = 7 OR t.id % 2000 IN (11, 13) THEN NULL "
            "ELSE t.occurred_at + (1 + t.id % 90) * interval '1 min' END",
            "transaction_id": "t.id",
            "created_at": "t.occurred_at + interval '1 min'",
        },
        source=f"FROM payments_transaction t WHERE {received}",
    )
    attempts = insert_select_sql(
        ErpPostingAttempt,
        columns={
            "posting_id": "p.id",
            "number": "1",
            "started_at": "coalesce(p.posted_at, p.created_at) - interval '2 s'",
            "duration_ms": "40 + p.id % 400",
            "outcome": "CASE WHEN p.status = 'dead' THEN 'permanent' ELSE 'posted' END",
            "error_code": "CASE WHEN p.status = 'dead' THEN 'CustomerOnHold' ELSE '' END",
        },
        source="FROM integrations_erpposting p WHERE p.status IN ('posted', 'dead')",
    )
    risk = insert_select_sql(
        RiskAssessment,
        columns={
            "transaction_id": "t.id",
            "score": "(t.id * 13 % 100)",
            "reasons": """CASE WHEN t.id % 500 = 0 OR t.id % 1000 = 3 THEN
                '[{"code": "amount_outlier", "points": 40}]'::jsonb ELSE '[]'::jsonb END""",
            # Flagged: one in 500 payments, and one in 1,000 declined sales (nothing to post: not a queue).
            "status": "CASE WHEN t.id % 500 = 0 OR t.id % 1000 = 3 THEN 'flagged' "
            "WHEN t.id % 700 = 1 THEN 'approved' ELSE 'cleared' END",
            "created_at": "t.occurred_at",
        },
        source="FROM payments_transaction t",
    )
    events = insert_select_sql(
        WebhookEvent,
        columns={
            "event_id": "'evt_' || t.transaction_id",
            "event_type": "CASE WHEN t.status = 'declined' THEN 'transaction.declined' "
            "ELSE 'transaction.success' END",
            "status": "CASE WHEN t.id % 5000 = 2 THEN 'dead' WHEN t.id % 4000 = 4 THEN 'failed' "
            "ELSE 'processed' END",
            "payload": """jsonb_build_object('event_id', 'evt_' || t.transaction_id, 'transaction',
                jsonb_build_object('id', t.transaction_id, 'amount', t.amount::text))""",
            "body_sha256": "md5(t.transaction_id) || md5(t.transaction_id)",
            "attempt_count": "1",
            "processed_at": "t.occurred_at + interval '2 s'",
            "transaction_id": "t.id",
            "created_at": "t.occurred_at + interval '1 s'",
        },
        source="FROM payments_transaction t WHERE t.id % 2 = 0",
    )
    memos = insert_select_sql(
        CreditMemo,
        columns={
            "refund_id": "t.id",
            "original_id": "t.original_id",
            "amount": "t.amount",
            "currency": "t.currency",
            "reason": "'Customer returned the goods'",
            "erp_document_number": "'CN-' || t.id",
            "created_at": "t.occurred_at",
        },
        source="FROM payments_transaction t WHERE t.transaction_type = 'refund'",
    )
    entries = insert_select_sql(
        JournalEntry,
        columns={
            "kind": "k.kind",
            "reference": "k.kind || '-' || b.batch_number",
            "erp_connection_id": str(erp),
            "entry_date": "b.settled_at::date",
            "currency": "'USD'",
            "description": "k.kind || ' of batch ' || b.batch_number",
            "settlement_batch_id": "b.id",
            "erp_document_number": "'GL' || b.id || k.kind",
            "created_at": "b.settled_at",
        },
        source="FROM payments_settlementbatch b CROSS JOIN (VALUES ('fees'), ('net_deposit')) k(kind)",
    )
    lines = insert_select_sql(
        JournalEntryLine,
        columns={
            "entry_id": "e.id",
            "line_number": "l.n",
            "account": "CASE WHEN l.n = 1 THEN '6100' ELSE '1020' END",
            "debit": "CASE WHEN l.n = 1 THEN 12.50 ELSE 0 END",
            "credit": "CASE WHEN l.n = 2 THEN 12.50 ELSE 0 END",
        },
        source="FROM payments_journalentry e CROSS JOIN (VALUES (1), (2)) l(n)",
    )
    subscriptions = insert_select_sql(
        Subscription,
        columns={
            "customer_id": CUSTOMER.format(**fmt),
            "paytrace_connection_id": str(paytrace),
            "erp_connection_id": str(erp),
            "paytrace_customer_id": "'cust-' || g",
            "description": "'Monthly plan ' || (g % 5)",
            "amount": AMOUNT,
            "next_run_on": "current_date + (g % 30)::int",
            "status": "CASE WHEN g % 25 = 0 THEN 'past_due' ELSE 'active' END",
            "dunning_schedule_days": "'[1, 3, 7]'::jsonb",
        },
        source=series.format(count=sizes.subscriptions),
    )
    exceptions = insert_select_sql(
        ReconciliationException,
        columns={
            "kind": "CASE WHEN t.id % 3 = 0 THEN 'missing_in_erp' WHEN t.id % 3 = 1 THEN 'invoice_drift' "
            "ELSE 'unapplied_payment' END",
            "status": "CASE WHEN t.id % 4 = 0 THEN 'resolved' ELSE 'open' END",
            "transaction_id": "t.id",
            "currency": "'USD'",
            "expected_amount": "t.amount",
            "difference": "t.amount",
            "reason": "'Found while reconciling batch ' || coalesce(t.settlement_batch_id, 0)",
            "dedup_key": "'bench-' || t.id",
            "created_at": "t.occurred_at + interval '1 day'",
        },
        source="FROM payments_transaction t WHERE t.id % 1000 = 17",
    )
    duplicates = insert_select_sql(
        DuplicateCandidate,
        columns={
            "customer_id": "c.id",
            "other_id": "c.id + 1",
            "reason": "'Same email domain and postal code'",
            "status": "CASE WHEN c.id % 2 = 0 THEN 'open' ELSE 'different' END",
        },
        source="FROM customers_customer c WHERE c.id % 1000 = 5 "
        "AND c.id + 1 <= (SELECT max(id) FROM customers_customer)",
    )
    alerts = insert_select_sql(
        Alert,
        columns={
            "severity": "'error'",
            "title": "'[CustomerOnHold] receipt ' || p.reference || ' is a dead letter'",
            "message": "p.last_error",
            "subject_type": "'erpposting'",
            "subject_id": "p.id::text",
            "acknowledged_at": "CASE WHEN p.id % 2 = 0 THEN now() END",
            "acknowledged_by_id": f"CASE WHEN p.id % 2 = 0 THEN {user} END",
            "created_at": "p.created_at",
        },
        source="FROM integrations_erpposting p WHERE p.status = 'dead'",
    )
    batch_totals = """
UPDATE payments_settlementbatch b SET transaction_count = s.count, sales_amount = s.total,
    net_amount = s.total, fee_amount = round(s.total * 0.025, 2),
    deposit_amount = s.total - round(s.total * 0.025, 2)
FROM (SELECT settlement_batch_id, count(*) count, sum(amount) total FROM payments_transaction
      WHERE settlement_batch_id IS NOT NULL GROUP BY settlement_batch_id) s
WHERE s.settlement_batch_id = b.id"""
    return [
        ("customers", customers),
        ("settlement batches", batches),
        ("transactions", transactions),
        ("refunds linked to their sales", link_refunds),
        ("orders", orders),
        ("orders linked", link_orders),
        ("invoices", invoices),
        ("allocations", allocations),
        ("amounts applied", applied),
        ("ERP postings", postings),
        ("posting attempts", attempts),
        ("risk assessments", risk),
        ("webhook events", events),
        ("credit memos", memos),
        ("journal entries", entries),
        ("journal entry lines", lines),
        ("subscriptions", subscriptions),
        ("reconciliation exceptions", exceptions),
        ("duplicate candidates", duplicates),
        ("alerts", alerts),
        ("batch totals", batch_totals),
    ]


@dataclass(frozen=True)
class Probes:
    """Values the world is known to hold, to search for."""

    transaction_id: str
    last4: str
    amount: str
    invoice_number: str
    erp_document_number: str
    email: str
    name: str


def probe_values(*, sizes: Sizes) -> Probes:
    g = sizes.transactions // 2 // 100 * 100 + 10  # a settled card sale near the middle, with a customer
    i = max(1, sizes.invoices // 2)
    amount = 5 + (g * 37 % 50000) / 100
    c = sizes.customers // 2  # a customer's own sequence number
    first = FIRST_NAMES[c % len(FIRST_NAMES)]
    last = LAST_NAMES[c // 7 % len(LAST_NAMES)]
    return Probes(
        transaction_id=str(100000000 + g),
        last4=f"{g * 7919 % 10000:04d}",
        amount=f"{amount:.2f}",
        invoice_number=f"INV-{100000 + i}",
        erp_document_number="CA2-",  # completed with an id by the bench, which knows the ids
        email=f"{first.lower()}.{last.lower()}{c}@example.com",
        name=f"{first} {last}",
    )
