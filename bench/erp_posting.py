"""ERP posting benchmark: approved PayTrace payments through the outbox to each ERP sandbox (DESIGN.md
"Targets": at most 1.1 ERP calls per posted payment at steady state, no duplicate or lost posting under
injected faults).

    .venv/bin/python bench/erp_posting.py --transactions 1000 --workers 2 --fault-rate 0.2 [--repeat 1]

One run creates its own PostgreSQL database, migrates it, serves the portal with its simulators
(`portal.wsgi`, gunicorn on loopback, access log on) and seeds the demo world in this process. Then, for
Sage 300, Sage X3 and Sage Pro in turn: N approved sales are inserted (bulk) for the demo customers,
their receipts planned by the outbox planner, and W worker processes drain the outbox with
`postings_post_due` until nothing is left to post. It prints, per ERP and run: postings/s over the
drain, ERP calls per posted receipt (counted at the server, from gunicorn's access log), dead letters,
duplicates (our reference on more than one document in the ERP's sandbox tables) and lost postings
(planned but neither posted nor dead, or posted on our side but absent from the ERP). Whatever it starts
it stops and the database is dropped, on success, error or Ctrl-C. Exit status 1 on a duplicate or a
lost posting.

With --fault-rate F, each ERP's sandbox answers a share F of its calls with its own transient error, and
a share F/4 of its writes (--applied-timeout-rate) is applied but answered only after the client's
timeout. The bench does not wait out the retry backoff: a worker that finds nothing due makes the rows
waiting to retry due at once (a short run, the same retries).
"""

import argparse
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the portal and bench.harness import from the checkout

from bench.harness import database_migrate, gunicorn_serve, scratch_database  # noqa: E402

ERPS = ("sage_300", "sage_x3", "sage_pro")
# Bounds: loopback only, and never more than this much work or time whatever the options say.
MAX_TRANSACTIONS, MAX_WORKERS, MAX_REPEAT = 100_000, 16, 9
# The client's timeout towards the ERP: under the connectors' 15 s default, so an injected "applied but
# timed out" costs the run seconds rather than a quarter of a minute, yet long enough for a batch of 50
# receipts on a loaded 2-core machine (at 2 s, 60 % of Sage Pro's batches timed out with no fault at all).
CLIENT_TIMEOUT_SECONDS = 8.0
HANG_SECONDS = CLIENT_TIMEOUT_SECONDS + 1.0  # how long the sandbox holds an injected timeout
# gthread: 3 processes x 4 threads serve 12 requests at once. The W drain workers have at most W
# requests in flight, but a request the sandbox holds past the client's timeout keeps its thread while
# the client already retries; with sync workers those hung requests would queue the next ones behind
# them and turn one injected timeout into several. 3 processes use both cores without starving the
# drain workers and PostgreSQL, which share the machine.
GUNICORN_OPTIONS = ["--workers", "3", "--threads", "4", "--worker-class", "gthread", "--timeout", "30"]
ACCESS_FORMAT = "%(m)s %(U)s %(s)s"
FIRST_TRANSACTION_ID = 700_000_000


@dataclass
class Run:
    erp: str
    label: str
    planned: int
    posted: int = 0
    found_existing: int = 0
    dead: int = 0
    dead_in_erp: int = 0
    unsettled: int = 0
    missing_in_erp: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    erp_calls: int = 0
    client_calls: int = 0
    server_errors: int = 0
    attempts: int = 0
    postings_per_second: float = 0.0
    calls_per_posting: float = float("nan")
    notes: list[str] = field(default_factory=list)

    def rates_set(self) -> None:
        self.postings_per_second = self.posted / self.seconds if self.seconds else 0.0
        self.calls_per_posting = self.erp_calls / self.posted if self.posted else float("nan")

    @property
    def lost(self) -> int:
        return self.unsettled + self.missing_in_erp


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=1000, help="approved sales per ERP and run")
    parser.add_argument("--workers", type=int, default=2, help="outbox worker processes (default 2)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of ERP calls failing (0-0.5)")
    parser.add_argument(
        "--applied-timeout-rate",
        type=float,
        default=None,
        help="share of ERP writes applied but answered too late (default: a quarter of --fault-rate)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per ERP; the median is kept (default 1)")
    parser.add_argument("--erp", choices=ERPS, action="append", help="only this ERP (repeatable)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="give up a drain after this long")
    args = parser.parse_args()
    limits = {"transactions": MAX_TRANSACTIONS, "workers": MAX_WORKERS, "repeat": MAX_REPEAT}
    for name, limit in limits.items():
        if not 1 <= getattr(args, name) <= limit:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and {limit}")
    if args.applied_timeout_rate is None:
        args.applied_timeout_rate = args.fault_rate / 4
    for name in ("fault_rate", "applied_timeout_rate"):
        if not 0 <= getattr(args, name) <= 0.5:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 0.5")
    args.erp = args.erp or list(ERPS)
    return args


def _environment(*, database_url: str) -> dict[str, str]:
    # DEBUG off as in production (DEBUG keeps every query in memory); SANDBOX on: the simulators are
    # the ERPs; no alert delivery (dead letters still raise their Alert rows); the ORM broker.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "PAYSAGE_ENV": "dev",
        "SANDBOX": "1",
        "DEBUG": "0",
        "REDIS_URL": "",
        "ALERT_EMAILS": "",
        "ALERT_WEBHOOK_URL": "",
    }


def _django_setup(*, env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    # One warning line per dead letter would bury the table; the table counts them and names why.
    logging.getLogger("integrations.alerts").setLevel(logging.ERROR)


# --- the world -------------------------------------------------------------------------------


def world_seed(*, base_url: str) -> dict:
    """The demo world, its connections pointed at our server; ERP clients time out after
    CLIENT_TIMEOUT_SECONDS. Returns
    the connections by system and the customers who pay."""
    from portal import demo

    connections = demo.demo_connections_ensure(base_url=base_url)
    demo.demo_mappings_ensure()
    demo.demo_sandboxes_seed()
    customers = demo.demo_customers_ensure(connections=connections)
    demo.demo_invoices_ensure(connections=connections, customers=customers)
    for system in ERPS:
        erp = connections[system]
        erp.options = {**erp.options, "timeout": CLIENT_TIMEOUT_SECONDS}
        erp.save(update_fields=["options"])
    # Sage 300's demo company has USD banks only and refuses a receipt from the CAD customer (C1006) into
    # them, on every try: a standing dead letter, not the steady state this bench measures.
    payers = [customer for customer in customers.values() if customer.currency == "USD"]
    return {"connections": connections, "customers": payers}


def payments_plan(*, world: dict, erp_system: str, first_id: int, count: int) -> list[str]:
    """`count` approved card sales, spread over the demo customers, and their receipts planned."""
    from django.utils import timezone

    from payments.models import Transaction
    from payments.services.postings import postings_plan_for_transaction

    paytrace, erp = world["connections"]["paytrace"], world["connections"][erp_system]
    paytrace.options = {**paytrace.options, "erp_connection": erp.name}
    paytrace.save(update_fields=["options"])
    customers, now = world["customers"], timezone.now()
    transactions = Transaction.objects.bulk_create(
        Transaction(
            connection=paytrace,
            transaction_id=str(first_id + n),
            transaction_type=Transaction.Type.SALE,
            status=Transaction.Status.APPROVED,
            amount=Decimal(f"{1 + n % 97}.{n % 100:02d}"),
            currency=customers[n % len(customers)].currency,
            customer=customers[n % len(customers)],
            card_brand="VISA",
            last4="1111",
            occurred_at=now - timedelta(seconds=count - n),
        )
        for n in range(count)
    )
    for txn in transactions:
        postings_plan_for_transaction(transaction=txn)
    return [txn.transaction_id for txn in transactions]


def faults_set(*, erp_system: str, error_rate: float, applied_timeout_rate: float) -> None:
    from simulators.models import FaultProfile

    FaultProfile.objects.filter(system=erp_system).delete()
    if error_rate or applied_timeout_rate:
        FaultProfile.objects.create(
            system=erp_system,
            error_rate=error_rate,
            applied_timeout_rate=applied_timeout_rate,
            hang_seconds=HANG_SECONDS,
        )


# --- the drain -------------------------------------------------------------------------------


def _drain(deadline: float, results: multiprocessing.Queue) -> None:
    """One outbox worker: post what is due until nothing is left to post (or the deadline passes)."""
    from django.db import connections
    from django.utils import timezone

    from integrations.models import ErpPosting
    from integrations.outbox.poster import PostSummary, postings_post_due

    Status = ErpPosting.Status
    total = PostSummary()
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")  # a cProfile of each worker, to find the hot spots
    profiler = None
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        while time.monotonic() < deadline:
            done = postings_post_due(time_budget_seconds=max(deadline - time.monotonic(), 0.1))
            total.add(done)
            if done.posted + done.found_existing + done.retried + done.dead + done.cancelled:
                continue
            open_rows = ErpPosting.objects.filter(
                status__in=[Status.PENDING, Status.RETRYABLE, Status.IN_PROGRESS]
            )
            if not open_rows.exists():
                break
            # Rows waiting out their backoff: the bench retries them now rather than in 30 s to hours.
            open_rows.filter(status=Status.RETRYABLE).update(next_attempt_at=timezone.now())
            time.sleep(0.05)  # the rest is in the other workers' hands
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile_dir}/worker-{os.getpid()}.prof")
        connections.close_all()
        results.put(total)


def outbox_drain(*, workers: int, max_seconds: float) -> tuple[float, list]:
    """W forked worker processes draining the outbox; (seconds, their summaries)."""
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's database connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    deadline = time.monotonic() + max_seconds
    processes = [context.Process(target=_drain, args=(deadline, results)) for _ in range(workers)]
    start = time.perf_counter()
    try:
        for process in processes:
            process.start()
        summaries = [results.get(timeout=max_seconds + 60) for _ in processes]
        seconds = time.perf_counter() - start
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    return seconds, summaries


# --- counting --------------------------------------------------------------------------------


def access_log_count(*, log: Path, offset: int, prefix: str) -> tuple[int, int, int]:
    """(requests under `prefix`, of them answered 5xx, the log's end offset) from `offset` on."""
    with log.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").splitlines()
        end = handle.tell()
    calls = errors = 0
    for line in lines:
        _, _, rest = line.partition(" ")
        path, _, status = rest.rpartition(" ")
        if path.startswith(prefix):
            calls += 1
            errors += status.startswith("5")
    return calls, errors, end


def erp_references(*, erp_system: str, references: list[str]) -> tuple[Counter, set[str]]:
    """How many receipt documents in the ERP's own tables carry each of our references, and which
    references are on a document that moved balances (Sage 300: in a posted batch)."""
    wanted = set(references)
    if erp_system == "sage_300":
        from simulators.sage300.models import Batch, PostedReceipt

        entered = Counter(
            entry["CheckReceiptNumber"]
            for payload in Batch.objects.filter(kind=Batch.Kind.AR_RECEIPT).values_list("payload", flat=True)
            for entry in payload.get("ReceiptsAdjustments") or []
            if entry.get("CheckReceiptNumber") in wanted
        )
        posted = PostedReceipt.objects.filter(check_receipt_number__in=wanted)
        return entered, set(posted.values_list("check_receipt_number", flat=True))
    if erp_system == "sage_x3":
        from simulators.x3.models import X3Payment

        found = X3Payment.objects.filter(ref__in=wanted, reverses__isnull=True).values_list("ref", flat=True)
    else:
        from simulators.sagepro.models import SproReceipt

        found = (
            SproReceipt.objects.filter(checkno__in=wanted)
            .exclude(status=SproReceipt.Status.REVERSAL)
            .values_list("checkno", flat=True)
        )
    counted = Counter(found)
    return counted, set(counted)


def run_check(*, run: Run, erp, references: list[str]) -> None:
    from integrations.models import ErpPosting, ErpPostingAttempt

    Status = ErpPosting.Status
    statuses = dict(
        ErpPosting.objects.filter(connection=erp, reference__in=references).values_list("reference", "status")
    )
    in_erp, applied = erp_references(erp_system=erp.system, references=references)
    posted = {reference for reference, status in statuses.items() if status == Status.POSTED}
    dead = {reference for reference, status in statuses.items() if status == Status.DEAD}
    run.dead = len(dead)
    run.dead_in_erp = len(dead & set(in_erp))
    run.unsettled = len(references) - len(posted) - len(dead)
    run.missing_in_erp = len(posted - applied)
    run.duplicates = sum(count - 1 for count in in_erp.values() if count > 1)
    attempts = ErpPostingAttempt.objects.filter(posting__connection=erp, posting__reference__in=references)
    run.attempts = attempts.count()
    failures = Counter(
        attempts.filter(outcome=ErpPostingAttempt.Outcome.TRANSIENT).values_list("error_message", flat=True)
    )
    run.notes += [f"transient x{count}: {reason[:140]}" for reason, count in failures.most_common(3)]
    reasons = Counter(
        ErpPosting.objects.filter(connection=erp, reference__in=dead).values_list("last_error", flat=True)
    )
    run.notes += [f"dead letter x{count}: {reason[:160]}" for reason, count in reasons.most_common(3)]
    entered_only = set(in_erp) - applied
    if entered_only:
        run.notes.append(
            f"{len(entered_only)} receipts entered in the ERP but not posted there"
            f" ({len(entered_only & dead)} of them dead letters, which a replay finds and posts)"
        )


# --- the report ------------------------------------------------------------------------------

HEADER = (
    f"{'run':<7} {'planned':>7} {'posted':>6} {'found':>5} {'dead':>4} {'seconds':>7} {'posts/s':>7} "
    f"{'calls':>6} {'calls/post':>10} {'5xx':>4} {'attempts':>8} {'dup':>3} {'lost':>4}"
)


def _row(run: Run) -> str:
    return (
        f"{run.label:<7} {run.planned:>7} {run.posted:>6} {run.found_existing:>5} {run.dead:>4} "
        f"{run.seconds:>7.1f} {run.postings_per_second:>7.1f} {run.erp_calls:>6} "
        f"{run.calls_per_posting:>10.3f} {run.server_errors:>4} {run.attempts:>8} "
        f"{run.duplicates:>3} {run.lost:>4}"
    )


def _median(runs: list[Run]) -> Run:
    """Medians of the figures, each on its own; sums of what must be zero, so one bad run shows."""
    median = Run(erp=runs[0].erp, label="median", planned=runs[0].planned)
    for name in ("seconds", "postings_per_second", "calls_per_posting"):
        setattr(median, name, statistics.median(getattr(run, name) for run in runs))
    for name in ("posted", "found_existing", "dead", "erp_calls", "server_errors", "attempts"):
        setattr(median, name, round(statistics.median(getattr(run, name) for run in runs)))
    for name in ("unsettled", "missing_in_erp", "duplicates"):
        setattr(median, name, sum(getattr(run, name) for run in runs))
    return median


class Bench:
    def __init__(self, *, args: argparse.Namespace, world: dict, access_log: Path):
        self.args, self.world, self.access_log = args, world, access_log
        self.next_id = FIRST_TRANSACTION_ID

    def run(self, *, erp_system: str, label: str) -> Run:
        erp = self.world["connections"][erp_system]
        count = self.args.transactions
        references = payments_plan(
            world=self.world, erp_system=erp_system, first_id=self.next_id, count=count
        )
        self.next_id += count
        faults_set(
            erp_system=erp_system,
            error_rate=self.args.fault_rate,
            applied_timeout_rate=self.args.applied_timeout_rate,
        )
        prefix = urlsplit(erp.base_url).path.rstrip("/") + "/"
        offset = self.access_log.stat().st_size
        seconds, summaries = outbox_drain(workers=self.args.workers, max_seconds=self.args.max_seconds)
        faults_set(erp_system=erp_system, error_rate=0, applied_timeout_rate=0)
        # A request the sandbox held past the client's timeout is logged when it finally answers.
        time.sleep(HANG_SECONDS + 0.5 if self.args.applied_timeout_rate else 0.5)
        run = Run(erp=erp_system, label=label, planned=count, seconds=seconds)
        run.erp_calls, run.server_errors, _ = access_log_count(
            log=self.access_log, offset=offset, prefix=prefix
        )
        run.posted = sum(summary.posted + summary.found_existing for summary in summaries)
        run.found_existing = sum(summary.found_existing for summary in summaries)
        run.client_calls = sum(summary.erp_calls for summary in summaries)
        run.rates_set()
        run_check(run=run, erp=erp, references=references)
        return run


def main() -> int:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    load_before = os.getloadavg()
    runs: dict[str, list[Run]] = {}
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(name=f"paysage_bench_erp_{os.getpid()}"))
        env = _environment(database_url=database_url)
        database_migrate(env=env)
        _django_setup(env=env)
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paysage-bench-erp-")))
        access_log = log_dir / "access.log"
        access_log.touch()
        port = stack.enter_context(
            gunicorn_serve(
                name="portal",
                wsgi="portal.wsgi:application",
                options=[
                    *GUNICORN_OPTIONS,
                    "--access-logfile",
                    str(access_log),
                    "--access-logformat",
                    ACCESS_FORMAT,
                ],
                env=env,
                log=log_dir / "gunicorn.log",
            )
        )
        world = world_seed(base_url=f"http://127.0.0.1:{port}")
        bench = Bench(args=args, world=world, access_log=access_log)
        print(
            f"ERP posting: {args.transactions} approved sales x {args.repeat} run(s) per ERP, "
            f"{args.workers} outbox workers, faults: {args.fault_rate:.0%} transient errors + "
            f"{args.applied_timeout_rate:.0%} applied-but-timed-out writes (client timeout "
            f"{CLIENT_TIMEOUT_SECONDS:g} s), gunicorn {' '.join(GUNICORN_OPTIONS[:6])}, "
            f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f}",
            flush=True,
        )
        for erp_system in args.erp:
            print(f"\n{erp_system}\n{HEADER}", flush=True)
            runs[erp_system] = []
            for repeat in range(1, args.repeat + 1):
                run = bench.run(erp_system=erp_system, label=str(repeat))
                runs[erp_system].append(run)
                print(_row(run), flush=True)
                for note in run.notes:
                    print(f"        note: {note}", flush=True)
            if args.repeat > 1:
                print(_row(_median(runs[erp_system])), flush=True)
            client = statistics.median(run.client_calls for run in runs[erp_system])
            print(f"        ERP calls seen by the client (connector transcripts): {client:.0f}", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (before: {load_before[0]:.2f})")
    print("target: <= 1.1 ERP calls per posted payment without faults; dup and lost 0 always")
    bad = [run for erp_runs in runs.values() for run in erp_runs if run.duplicates or run.lost]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and workers stopped, database dropped", file=sys.stderr)
        sys.exit(130)
