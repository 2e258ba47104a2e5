"""Settlement reconciliation benchmark (DESIGN.md "Targets": 1M settled transactions in <= 20 s, <= 1 GiB).

    .venv/bin/python bench/reconcile.py --sizes 10000,100000,1000000

For each N, in its own scratch PostgreSQL database (created, migrated, dropped): N settled VISA sales in
N/500 batches with posted ERP receipts, N open invoices and N/10 customers, generated inside PostgreSQL
with `INSERT ... SELECT generate_series` (no Python loop). Planted: one sale in 1,000 with no receipt
(missing in the ERP), one in 1,000 whose receipt is a dead letter, one batch in 100 whose processor fee
differs from the GL rules by more than the tolerance, one in 100 by less (written off). Then
`settlement_batches_reconcile` runs in a child process, timed end to end (matching, totals, fees, journal
entries with their lines and outbox rows, exceptions, write-offs, batch statuses), and the child reports
seconds, rows/s, peak Python memory (tracemalloc) and peak RSS (getrusage). Exit status 1 when a planted
difference was not found.
"""

import argparse
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BATCH_SIZE = 500
MAX_SIZE = 5_000_000


@contextmanager
def scratch_database(name: str):
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


# Every row is computed in SQL from its sequence number `g`: amounts 10.00-109.99, batch = g / 500. The
# columns not named get what Django would have given them (bench/scale_sql.py).
def _statements(*, n: int, paytrace: int, erp: int) -> list[str]:
    from bench.scale_sql import insert_select_sql
    from customers.models import Customer
    from integrations.models import ErpPosting
    from payments.models import Invoice, SettlementBatch, Transaction

    customers, batches = max(1, n // 10), (n + BATCH_SIZE - 1) // BATCH_SIZE
    customer = f"(SELECT min(id) FROM customers_customer) + g % {customers}"
    batch = f"(SELECT min(id) FROM payments_settlementbatch) + (g - 1) / {BATCH_SIZE}"
    amount = "10 + (g % 10000) / 100.0"
    return [
        insert_select_sql(
            Customer,
            columns={
                "name": "'Customer ' || g",
                "name_normalized": "'customer ' || g",
                "postal_code": "'98101'",
            },
            source=f"FROM generate_series(1, {customers}) g",
        ),
        insert_select_sql(
            SettlementBatch,
            columns={
                "connection_id": str(paytrace),
                "batch_number": "b::text",
                "status": "'imported'",
                "settled_at": "now() - interval '1 hour'",
            },
            source=f"FROM generate_series(1, {batches}) b",
        ),
        insert_select_sql(
            Transaction,
            columns={
                "connection_id": str(paytrace),
                "transaction_id": "(100000000 + g)::text",
                "transaction_type": "'sale'",
                "status": "'settled'",
                "amount": amount,
                "invoice_reference": "'INV-' || g",
                "card_brand": "'VISA'",
                "last4": "'5439'",
                "approval_code": "'TAS001'",
                "status_message": "'Settled'",
                "paytrace_status_code": f"'GB' || ((g - 1) / {BATCH_SIZE} + 1)",
                "occurred_at": "now() - interval '1 day'",
                "settled_at": "now() - interval '1 hour'",
                "customer_id": customer,
                "settlement_batch_id": batch,
            },
            source=f"FROM generate_series(1, {n}) g",
        ),
        insert_select_sql(
            Invoice,
            columns={
                "connection_id": str(erp),
                "invoice_number": "'INV-' || g",
                "customer_id": customer,
                "amount": amount,
                "balance": amount,
                "issued_on": "current_date - 30",
                "due_on": "current_date",
            },
            source=f"FROM generate_series(1, {n}) g",
        ),
        # Receipts: none for one sale in 1,000, a dead letter for another one in 1,000, posted for the rest.
        insert_select_sql(
            ErpPosting,
            columns={
                "connection_id": str(erp),
                "document_type": "'receipt'",
                "reference": "t.transaction_id",
                "status": "CASE WHEN t.id % 1000 = 7 THEN 'dead' ELSE 'posted' END",
                "erp_document_number": "CASE WHEN t.id % 1000 = 7 THEN '' ELSE 'PY' || t.id END",
                "attempt_count": "1",
                "last_error": "CASE WHEN t.id % 1000 = 7 THEN 'customer on hold' ELSE '' END",
                "transaction_id": "t.id",
            },
            source="FROM payments_transaction t WHERE t.id % 1000 <> 3",
        ),
        BATCH_FIGURES,
        "ANALYZE",
    ]


# What PayTrace reports per batch, and the processor's fee: right for most, 0.02 off in one batch in
# 100 (within the 0.05 tolerance), 5.00 off in another one in 100.
BATCH_FIGURES = """
UPDATE payments_settlementbatch b SET transaction_count = s.n, sales_amount = s.total, net_amount = s.total,
    raw = jsonb_build_object('fee_amount', (round(s.total * 0.025 + 0.10 * s.n, 2)
        + CASE WHEN b.id % 100 = 1 THEN 0.02 WHEN b.id % 100 = 2 THEN 5.00 ELSE 0 END)::text)
FROM (SELECT settlement_batch_id, count(*) n, sum(amount) total FROM payments_transaction
      GROUP BY settlement_batch_id) s
WHERE s.settlement_batch_id = b.id"""


def _generate(url: str, n: int) -> None:
    """Migrate, then write the world of size `n` (run in a child so the parent stays small)."""
    _django(url)
    from django.core.management import call_command

    from integrations.models import Connection, FieldDefault, GLAccountRule

    call_command("migrate", verbosity=0)
    erp = Connection.objects.create(
        name="erp", system="sage_300", base_url="http://erp.invalid", credentials={}
    )
    paytrace = Connection.objects.create(
        name="pt",
        system="paytrace",
        base_url="http://paytrace.invalid",
        credentials={},
        options={"erp_connection": "erp"},
    )
    for purpose, account in (("clearing", "1020"), ("cash", "1000"), ("write_off", "6900")):
        GLAccountRule.objects.create(erp="sage_300", purpose=purpose, account=account)
    GLAccountRule.objects.create(
        erp="sage_300", purpose="fees", card_brand="VISA", account="6100", fee_percent=2.5, fee_fixed="0.10"
    )
    FieldDefault.objects.create(
        erp="sage_300", document_type="reconciliation", field="reconciliation_tolerance", value="0.05"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in _statements(n=n, paytrace=paytrace.pk, erp=erp.pk):
            conn.execute(sql)


def _reconcile(url: str) -> dict:
    import resource
    import time
    import tracemalloc

    _django(url)
    from integrations.models import Connection
    from payments.services.reconciliation import settlement_batches_reconcile

    connection = Connection.objects.get(name="pt")
    tracemalloc.start()
    started = time.perf_counter()
    summary = settlement_batches_reconcile(connection=connection)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    return {
        "seconds": seconds,
        "python_peak_mib": peak / 2**20,
        "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "transactions": summary.transactions,
        "batches": summary.batches,
        "exceptions": dict(summary.exceptions),
        "written_off": summary.written_off,
        "journal_entries": summary.journal_entries,
    }


def _child(step: str, url: str, n: int) -> dict:
    args = [sys.executable, __file__, "--child", step, "--url", url, "--n", str(n)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1]) if step == "reconcile" else {}


def _check(n: int, result: dict) -> list[str]:
    """The planted differences, counted the way GENERATE plants them."""
    batches = (n + BATCH_SIZE - 1) // BATCH_SIZE
    expected = {
        "missing_in_erp": n // 1000 + (1 if n % 1000 >= 3 else 0) + n // 1000 + (1 if n % 1000 >= 7 else 0),
        "fee_mismatch": batches // 100 + (1 if batches % 100 >= 2 else 0),
    }
    written_off = batches // 100 + (1 if batches % 100 >= 1 else 0)
    problems = [
        f"{kind}: expected {count}, found {result['exceptions'].get(kind, 0)}"
        for kind, count in expected.items()
        if result["exceptions"].get(kind, 0) != count
    ]
    if result["written_off"] != written_off:
        problems.append(f"written off: expected {written_off}, found {result['written_off']}")
    if result["transactions"] != n:
        problems.append(f"transactions: expected {n}, found {result['transactions']}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="Comma-separated N.")
    parser.add_argument("--child", choices=["generate", "reconcile"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "generate":
        _generate(options.url, options.n)
        return 0
    if options.child == "reconcile":
        print(json.dumps(_reconcile(options.url)))
        return 0
    sizes = [int(size) for size in options.sizes.split(",")]
    if any(not 0 < size <= MAX_SIZE for size in sizes):
        parser.error(f"sizes must be between 1 and {MAX_SIZE}")
    print(
        f"{'N':>9} {'batches':>8} {'seconds':>8} {'rows/s':>10} {'py peak MiB':>12} {'RSS MiB':>8}"
        "  exceptions"
    )
    failures = 0
    for n in sizes:
        with scratch_database(f"paysage_bench_reconcile_{os.getpid()}") as url:
            _child("generate", url, n)
            result = _child("reconcile", url, n)
        problems = _check(n, result)
        failures += bool(problems)
        print(
            f"{n:>9} {result['batches']:>8} {result['seconds']:>8.2f} {n / result['seconds']:>10,.0f}"
            f" {result['python_peak_mib']:>12.1f} {result['rss_peak_mib']:>8.0f}  {result['exceptions']}"
            f" written off {result['written_off']}, journal entries {result['journal_entries']}",
            flush=True,
        )
        for problem in problems:
            print(f"  MISSED: {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
