"""The admin at scale (issue 16): load N transactions and their related rows, then time every admin page.

    .venv/bin/python bench/admin_scale.py --rows 10000 [--repeat 5] [--keep | --reuse] [--only WORD]

The world (`bench/admin_scale_data.py`) is written in PostgreSQL with `INSERT … SELECT generate_series`
into a database of its own, migrated first; it is dropped at the end unless `--keep`, which keeps it as
`paysage_admin_scale_<N>` for `--reuse` to time again without loading (after migrating it, so the pages
run on this branch's indexes). Pages are requested in-process through Django's test Client, logged in as
a superuser, with DEBUG off: the index (dashboard), every registered changelist as it opens, the money
lists searched (transaction id, last four, amount, invoice number, ERP document number, email, name),
filtered (a status, a 30-day range) and sorted (amount, date), and the change pages of the money models.
Each page is requested once unmeasured, then `--repeat` times; printed per page: the median milliseconds,
the queries of a request, and the slowest query of the median request (milliseconds and its first 120
characters). Exit status 1 when a page does not answer 200.
"""

import argparse
import logging
import os
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import PG_SERVER, admin_execute  # noqa: E402

MAX_ROWS = 5_000_000
SLOW_QUERY_CHARS = 120
AMOUNT_COLUMNS = ("amount", "total")
DATE_COLUMNS = (
    "occurred_at",
    "created_at",
    "posted_at",
    "settled_at",
    "issued_on",
    "entry_date",
    "started_at",
)


WRITES_TO = re.compile(r"(?:INSERT INTO|UPDATE) (\w+)")
SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"""


@dataclass
class Run:
    ms: float
    queries: list[tuple[float, str]] = field(default_factory=list)

    @property
    def slowest(self) -> tuple[float, str]:
        return max(self.queries, default=(0.0, ""))


@dataclass(frozen=True)
class PageResult:
    label: str
    median_ms: float
    queries: int
    slowest_ms: float
    slowest_sql: str


def page_result(*, label: str, runs: list[Run]) -> PageResult:
    """The median run's figures (the run whose time is the median; the lower one of an even count)."""
    ordered = sorted(runs, key=lambda run: run.ms)
    middle = ordered[(len(ordered) - 1) // 2]
    slowest_ms, slowest_sql = middle.slowest
    return PageResult(
        label=label,
        median_ms=statistics.median(run.ms for run in runs),
        queries=len(middle.queries),
        slowest_ms=slowest_ms,
        slowest_sql=" ".join(slowest_sql.split())[:SLOW_QUERY_CHARS],
    )


def result_line(result: PageResult) -> str:
    return (
        f"{result.label:<44} {result.median_ms:>8.0f} {result.queries:>4} {result.slowest_ms:>8.1f}  "
        f"{result.slowest_sql}"
    )


def column_name(column: object) -> str | None:
    """The model field a list_display column sorts by: its name, or a callable's `admin_order_field`."""
    if isinstance(column, str):
        return column
    order = getattr(column, "admin_order_field", None)
    return order.lstrip("-") if isinstance(order, str) else None


def sort_index(*, columns: Iterable[object], wanted: Iterable[str]) -> int | None:
    """The position of the first column sorting by one of `wanted`: the admin's `o=` parameter."""
    names = [column_name(column) for column in columns]
    for name in wanted:
        if name in names:
            return names.index(name)
    return None


def database_name(*, rows: int, keep: bool) -> str:
    return f"paysage_admin_scale_{rows}" if keep else f"paysage_admin_scale_{os.getpid()}"


def _database_exists(name: str) -> bool:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory, and production runs without it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    logging.disable(logging.INFO)  # a login line per page otherwise
    warnings.filterwarnings("ignore", message="No directory at")  # static files are not collected here


def world_load(*, rows: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.admin_scale_data import Sizes, statements
    from integrations.models import Connection

    paytrace = Connection.objects.create(
        name="PayTrace", system="paytrace", base_url="http://paytrace.invalid", credentials={},
        options={"erp_connection": "Sage 300"},
    )  # fmt: skip
    erp = Connection.objects.create(
        name="Sage 300", system="sage_300", base_url="http://erp.invalid", credentials={}
    )
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    work = statements(sizes=Sizes(rows), paytrace=paytrace.pk, erp=erp.pk, user=user.pk)
    tables = sorted({match for _, sql in work for match in re.findall(r"INSERT INTO (\w+)", sql)})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        # Indexes are built once the rows are in, several times faster than kept up to date row by row;
        # those behind a constraint (primary and unique keys, which the inserts rely on) stay.
        cursor.execute(SECONDARY_INDEXES, [tables])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for what, sql in work:
            began = time.perf_counter()
            cursor.execute(sql)
            rowcount = cursor.rowcount
            # Statistics at once: the next statement joins this table, and a planner that believes it
            # empty picks a nested loop over a million rows.
            cursor.execute(f"ANALYZE {WRITES_TO.search(sql).group(1)}")
            print(f"  {what:<32} {rowcount:>10,} rows {time.perf_counter() - began:>7.1f} s", flush=True)
        began = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        print(f"  {f'{len(indexes)} indexes':<32} {'':>15} {time.perf_counter() - began:>7.1f} s", flush=True)
        began = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  {'vacuum analyze':<32} {'':>15} {time.perf_counter() - began:>7.1f} s", flush=True)
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)


def pages(*, rows: int) -> list[tuple[str, str]]:
    """(label, URL) of every page timed."""
    from datetime import timedelta
    from urllib.parse import urlencode

    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.db.models import DateField, DateTimeField
    from django.test import RequestFactory
    from django.urls import reverse
    from django.utils import timezone

    from bench.admin_scale_data import Sizes, probe_values
    from customers.models import Customer
    from integrations.models import ErpPosting, WebhookEvent
    from payments.models import Invoice, Order, RiskAssessment, SettlementBatch, Transaction

    def changelist(model) -> str:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="bench")
    found: list[tuple[str, str]] = [("index (dashboard)", reverse("admin:index"))]
    registry = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
    for model, _ in registry:
        found.append((f"{model._meta.label_lower} default", changelist(model)))

    probes = probe_values(sizes=Sizes(rows))
    posting = ErpPosting.objects.filter(status="posted").order_by("pk")[rows // 4 : rows // 4 + 1].get()
    searches = {
        Transaction: {
            "transaction id": probes.transaction_id,
            "last four": probes.last4,
            "amount": probes.amount,
            "invoice number": probes.invoice_number,
            "ERP document number": posting.erp_document_number,
            "email": probes.email,
            "name": probes.name,
        },
        Invoice: {"invoice number": probes.invoice_number, "email": probes.email, "name": probes.name},
        ErpPosting: {
            "ERP document number": posting.erp_document_number,
            "transaction id": probes.transaction_id,
        },
        Customer: {"email": probes.email, "name": probes.name},
        Order: {"order id": "SO-500100"},
        WebhookEvent: {"transaction id": probes.transaction_id},
    }
    for model, terms in searches.items():
        for what, term in terms.items():
            found.append((f"{model._meta.model_name} search {what}", f"{changelist(model)}?q={term}"))

    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since, until = today - timedelta(days=30), today + timedelta(days=1)
    filters = {
        Transaction: ("status__exact=declined", "occurred_at"),
        ErpPosting: ("status__exact=dead", "created_at"),
        Invoice: ("status__exact=open", "issued_on"),
        RiskAssessment: ("status__exact=flagged", "created_at"),
        WebhookEvent: ("status__exact=dead", "created_at"),
        Order: ("status__exact=failed", "created_at"),
        SettlementBatch: ("status__exact=exceptions", "settled_at"),
    }
    for model, (status, date_field) in filters.items():
        url = changelist(model)
        found.append((f"{model._meta.model_name} filter {status.split('=')[1]}", f"{url}?{status}"))
        dates = isinstance(model._meta.get_field(date_field), DateField) and not isinstance(
            model._meta.get_field(date_field), DateTimeField
        )
        bounds = {
            f"{date_field}__gte": since.date().isoformat() if dates else since.isoformat(),
            f"{date_field}__lt": until.date().isoformat() if dates else until.isoformat(),
        }
        found.append((f"{model._meta.model_name} filter 30 days", f"{url}?{urlencode(bounds)}"))

    for model in (Transaction, Invoice, ErpPosting, Order, SettlementBatch, Customer):
        model_admin = admin.site._registry[model]
        # A name may be the admin's own method (a money column), whose `ordering` says what it sorts by.
        columns = [getattr(model_admin, name, name) for name in model_admin.get_list_display(request)]
        if model_admin.get_actions(request):
            columns.insert(0, "action_checkbox")
        for what, wanted in (("amount", AMOUNT_COLUMNS), ("date", DATE_COLUMNS)):
            index = sort_index(columns=columns, wanted=wanted)
            if index is not None:
                found.append(
                    (f"{model._meta.model_name} sort {what} desc", f"{changelist(model)}?o=-{index}")
                )

    middle = {
        Transaction: Transaction.objects.get(transaction_id=probes.transaction_id).pk,
        Invoice: Invoice.objects.get(invoice_number=probes.invoice_number).pk,
        ErpPosting: posting.pk,
        Customer: Customer.objects.order_by("pk")[Sizes(rows).customers // 2 :].values_list("pk", flat=True)[
            0
        ],
        RiskAssessment: RiskAssessment.objects.filter(status="flagged").values_list("pk", flat=True)[0],
        SettlementBatch: SettlementBatch.objects.order_by("pk").values_list("pk", flat=True)[0],
        Order: Order.objects.order_by("pk").values_list("pk", flat=True)[0],
        WebhookEvent: WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)[0],
    }
    for model, pk in middle.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
        found.append((f"{model._meta.model_name} change", reverse(name, args=[pk])))
    return found


def page_time(*, client, url: str, repeat: int) -> tuple[int, list[Run]]:
    from django.db import connection

    def timed(queries: list[tuple[float, str]]) -> Callable:
        def wrapper(execute, sql, params, many, context):
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append(((time.perf_counter() - began) * 1000, sql))

        return wrapper

    status = client.get(url).status_code  # unmeasured: caches, the first template load
    runs = []
    for _ in range(repeat):
        run = Run(ms=0.0)
        with connection.execute_wrapper(timed(run.queries)):
            began = time.perf_counter()
            response = client.get(url)
            run.ms = (time.perf_counter() - began) * 1000
        status = response.status_code if status == 200 else status
        runs.append(run)
    return status, runs


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000, help="transactions to load (default 10,000)")
    parser.add_argument("--repeat", type=int, default=5, help="measured requests per page (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the database as paysage_admin_scale_<rows>")
    parser.add_argument("--reuse", action="store_true", help="time a database an earlier --keep left")
    parser.add_argument("--only", help="time only the pages whose label contains this word")
    parser.add_argument("--load-only", action="store_true", help="load (with --keep), time nothing")
    options = parser.parse_args()
    if not 0 < options.rows <= MAX_ROWS:
        parser.error(f"--rows must be between 1 and {MAX_ROWS:,}")
    if not 1 <= options.repeat <= 50:
        parser.error("--repeat must be between 1 and 50")
    name = database_name(rows=options.rows, keep=options.keep or options.reuse)
    reuse = options.reuse and _database_exists(name)
    if options.reuse and not reuse:
        print(f"{name} does not exist: loading it", flush=True)
    if not reuse:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    from django.core.management import call_command
    from django.db import connections

    try:
        _django(url)
        # In-process, without a deadline: on a crowded machine a migrate takes minutes.
        call_command("migrate", interactive=False, verbosity=0)
        print(f"load average {load_average()}", flush=True)
        if not reuse:
            world_load(rows=options.rows)
        if options.load_only:
            return 0
        return pages_report(rows=options.rows, repeat=options.repeat, only=options.only)
    finally:
        if options.keep or options.reuse:
            print(f"kept {name}; drop it with: psql {PG_SERVER} -c 'DROP DATABASE \"{name}\"'")
        else:
            connections.close_all()
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pages_report(*, rows: int, repeat: int, only: str | None) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    print(f"\n{rows:,} transactions, median of {repeat} requests, load average {load_average()}")
    print(f"{'page':<44} {'ms':>8} {'qs':>4} {'slow ms':>8}  slowest query")
    failures = 0
    for label, url in pages(rows=rows):
        if only and only not in label:
            continue
        status, runs = page_time(client=client, url=url, repeat=repeat)
        if status != 200:
            failures += 1
            print(f"{label:<44} HTTP {status}  {url}", flush=True)
            continue
        print(result_line(page_result(label=label, runs=runs)), flush=True)
    print(f"load average {load_average()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
