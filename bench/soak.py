"""Soak: thousands of PayTrace payments through the whole portal under faults and crashes, then the books
checked from PayTrace's and the ERP's own tables (issue 14).

    .venv/bin/python bench/soak.py --short --erp sage_300          # CI: a few hundred, under 3 minutes
    .venv/bin/python bench/soak.py --erp sage_300 --transactions 3000

It sets up its own services: a scratch PostgreSQL database (migrated, dropped at the end), a Redis database
of its own (flushed at the end), gunicorn (2 workers) serving the portal with its simulators, two django-q2
clusters on that Redis competing for the same work, and the demo world (`manage.py demo`) pointed at that
gunicorn, posting to the ERP under test. Then:

1. probe: one sale announced at once, on a system at rest: how long until its receipt is in the ERP;
2. load: N PayTrace transactions through the simulator's API (sales across the demo customers, declines,
   voids, settlements, full and partial refunds), announced by signed webhooks with ~20 % duplicates (half
   of them at the same instant), late and out-of-order deliveries and some sales never announced; the ERP
   simulator faults ~27 % of writes (5xx, timeouts, applied but answered too late); meanwhile one cluster's
   process group is SIGKILLed (and started again), one gunicorn worker is SIGKILLed, and every database
   connection is terminated once;
3. faults off, then the wait for quiescence (bounded);
4. the checks: lost transactions, duplicate ERP documents, and per customer the ERP's net against
   PayTrace's net, every difference explained by a dead letter or a held posting of its own.

It prints a table per customer and exits 1 on any unexplained difference, lost transaction, duplicate
document, dependent document out of order, or when quiescence does not come within --max-seconds.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the portal and bench.* import from the checkout

from bench.harness import (  # noqa: E402
    HOST,
    LOG_TAIL_CHARS,
    Service,
    free_port,
    gunicorn_start,
    migrated_template,
    qcluster_run,
    qcluster_start,
    redis_database,
    scratch_database,
)
from bench.soak_ledger import Ledger  # noqa: E402
from bench.soak_report import report_print  # noqa: E402
from bench.soak_traffic import DeliveryPlan, PayTraceTraffic, TrafficPlan, WebhookSender  # noqa: E402

ERPS = ("sage_300", "sage_x3", "sage_pro")
MAX_TRANSACTIONS = 20_000
WEBHOOK_SECRET = "paysage-soak-webhook-secret"
PAYTRACE_CURRENCY = "USD"  # the demo's PayTrace account charges in US dollars
# The ERP client's timeout, under the connectors' 15 s default so an injected "applied but timed out"
# costs seconds; the simulator holds such an answer a second longer than the client waits.
CLIENT_TIMEOUT_SECONDS = 6.0
HANG_SECONDS = CLIENT_TIMEOUT_SECONDS + 1.0
# 2 workers as in the runs; threads because an injected hang holds its thread past the client's
# timeout, and with sync workers two hangs would stall every webhook and PayTrace call behind them.
GUNICORN_OPTIONS = ["--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "60"]
# The demo has six customers; paying hundreds of times an hour each, every sale after the fifth would be
# held for review by the velocity rules and the soak would measure the review queue, not the ERP. The
# merchant's policy says so (the demo's planted risky payments are still held on their other reasons).
RISK_RULES = {
    "velocity_customer": {"limit": 1_000_000},
    "velocity_card": {"limit": 1_000_000},
    "velocity_ip": {"limit": 1_000_000},
    "card_testing": {"declines": 1_000_000},
}
PROGRESS_KILLS = (0.3, 0.5, 0.7)  # shares of the load after which each crash comes, in this order
CHECK_RESERVE_SECONDS = 8.0
RATE_WINDOW_SECONDS = 10


@dataclass(frozen=True)
class Mode:
    transactions: int
    max_seconds: float
    probe_seconds: float  # how long the idle probe waits before the load starts anyway
    load_share: float  # of --max-seconds, the most the load may take
    late_seconds: tuple[float, float]
    settle_rounds: (
        int  # rounds of 40 sales between PayTrace settlements: how long a sale may wait for its void
    )


SHORT = Mode(
    transactions=300, max_seconds=175, probe_seconds=10, load_share=0.3, late_seconds=(2, 8), settle_rounds=2
)
FULL = Mode(
    transactions=3000,
    max_seconds=2400,
    probe_seconds=90,
    load_share=0.4,
    late_seconds=(3, 20),
    settle_rounds=8,
)


@dataclass
class Run:
    """Everything the report prints, filled as the run goes."""

    erp: str
    transactions: int
    fault_share: float
    fault_rates: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    chaos: list[str] = field(default_factory=list)
    outstanding: list[str] = field(default_factory=list)
    last_waited: list[str] = field(default_factory=list)  # what quiescence waited for last
    stuck: list[str] = field(default_factory=list)
    quiescent_after: float | None = None
    probe_seconds: float | None = None
    probe_note: str = ""
    first_receipt_seconds: float | None = None
    postings_per_second: float | None = None
    posted: int = 0
    traffic: object = None
    deliveries: object = None
    watch: object = None
    ledger: Ledger | None = None
    failures: list[str] = field(default_factory=list)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--erp", choices=ERPS, default="sage_300", help="the ERP the payments post to")
    parser.add_argument("--short", action="store_true", help=f"CI size: {SHORT.transactions} transactions")
    parser.add_argument(
        "--transactions", type=int, help=f"PayTrace transactions made (default {FULL.transactions})"
    )
    parser.add_argument("--max-seconds", type=float, help="bound of the run after its set-up")
    parser.add_argument("--fault-rate", type=float, default=0.27, help="share of ERP writes faulted (0-0.6)")
    parser.add_argument("--seed", type=int, default=14, help="the load's random choices")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the services' logs and the scratch database (dropped otherwise) and print where",
    )
    args = parser.parse_args()
    args.mode = SHORT if args.short else FULL
    args.transactions = args.transactions or args.mode.transactions
    args.max_seconds = args.max_seconds or args.mode.max_seconds
    if not 1 <= args.transactions <= MAX_TRANSACTIONS:
        parser.error(f"--transactions must be between 1 and {MAX_TRANSACTIONS}")
    if not 60 <= args.max_seconds <= 6 * 3600:
        parser.error("--max-seconds must be between 60 and 21600")
    if not 0 <= args.fault_rate <= 0.6:
        parser.error("--fault-rate must be between 0 and 0.6")
    return args


def _environment(*, database_url: str, redis_url: str) -> dict[str, str]:
    # DEBUG off as in production (DEBUG keeps every query in memory); SANDBOX on: the simulators are
    # PayTrace and the ERP; no alert delivery (dead letters still raise their Alert rows); Redis as the
    # broker and the shared cache, as in production.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_CACHE_URL": "",
        "PAYSAGE_ENV": "dev",
        "SANDBOX": "1",
        "DEBUG": "0",
        "ALERT_EMAILS": "",
        "ALERT_WEBHOOK_URL": "",
        "PAYTRACE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def _django_setup(*, env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _say(start: float, text: str) -> None:
    print(f"[{time.monotonic() - start:6.1f} s] {text}", flush=True)


# --- the world ---------------------------------------------------------------------------------


def demo_load(*, env: dict[str, str], base_url: str, log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "manage.py", "demo", "--base-url", base_url],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=180,
        )


@dataclass(frozen=True)
class World:
    paytrace: object
    erp: object
    customers: list[str]


def world_prepare(*, erp_system: str) -> World:
    """The demo's PayTrace connection posts to the ERP under test, whose client times out sooner; the risk
    policy lets six customers pay hundreds of times an hour."""
    from integrations.models import Connection, System
    from payments.models import RiskPolicy
    from simulators.demo_data import CUSTOMERS

    paytrace = Connection.objects.get(system=System.PAYTRACE)
    erp = Connection.objects.get(system=erp_system)
    paytrace.options = {**paytrace.options, "erp_connection": erp.name}
    paytrace.save(update_fields=["options"])
    erp.options = {**erp.options, "timeout": CLIENT_TIMEOUT_SECONDS}
    erp.save(update_fields=["options"])
    policy = RiskPolicy.objects.order_by("pk").first() or RiskPolicy()
    policy.rules = {**policy.rules, **RISK_RULES}
    policy.save()
    return World(paytrace=paytrace, erp=erp, customers=[customer.number for customer in CUSTOMERS])


def fault_rates(*, share: float) -> dict[str, float]:
    """Rates whose combined chance of faulting a write is `share`: half of it transient 5xx errors, a
    fifth hangs that apply nothing, the rest applied but answered after the client gave up (each drawn on
    its own per call, as the simulators do)."""
    parts = {"error_rate": 0.5, "timeout_rate": 0.2, "applied_timeout_rate": 0.3}

    def combined(scale: float) -> float:
        untouched = 1.0
        for weight in parts.values():
            untouched *= 1 - weight * scale
        return 1 - untouched

    low, high = 0.0, 1.0
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if combined(middle) < share else (low, middle)
    return {name: round(weight * low, 4) for name, weight in parts.items()}


def faults_set(*, erp_system: str, rates: dict[str, float] | None) -> None:
    from simulators.models import FaultProfile

    FaultProfile.objects.filter(system=erp_system).delete()
    if rates:
        FaultProfile.objects.create(system=erp_system, hang_seconds=HANG_SECONDS, **rates)


# --- the crashes -------------------------------------------------------------------------------


class Chaos:
    """The three crashes, each once, as the load passes its share of the transactions."""

    def __init__(self, *, clusters: list[Service], web: Service, total: int, start: float):
        self.clusters, self.web, self.total, self.start = clusters, web, total, start
        self.done: list[str] = []
        self.problems: list[str] = []
        self._steps = [self.cluster_kill, self.web_worker_kill, self.connections_terminate]
        self._fired = 0
        self._restart: threading.Thread | None = None

    def _record(self, text: str) -> None:
        self.done.append(f"{time.monotonic() - self.start:6.1f} s  {text}")
        _say(self.start, text)

    def cluster_kill(self) -> None:
        """The whole cluster at once (sentinel, pusher, monitor, workers), with whatever it had claimed;
        started again two seconds later, as a supervisor would."""
        cluster = self.clusters[0]
        members = len(cluster.group())
        cluster.kill()
        self._record(f"SIGKILL {cluster.name}'s process group ({members} processes)")

        def restart() -> None:
            time.sleep(2)
            try:
                qcluster_run(cluster=cluster)
                self._record(f"{cluster.name} started again")
            except RuntimeError as error:
                self._record(f"{cluster.name} did not start again")
                self.problems.append(f"{cluster.name} did not start again after its kill:\n{error}")

        self._restart = threading.Thread(target=restart, name="cluster-restart", daemon=True)
        self._restart.start()

    def web_worker_kill(self) -> None:
        workers = self.web.children()
        if not workers:
            self.problems.append("no gunicorn worker to kill")
            return
        os.kill(workers[0], signal.SIGKILL)
        self._record(f"SIGKILL one gunicorn worker of {len(workers)} (the arbiter starts another)")

    def connections_terminate(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            count = cursor.fetchone()[0]
        self._record(f"pg_terminate_backend on every other connection to the database ({count})")

    def progress(self, created: int) -> None:
        while self._fired < len(self._steps) and created >= PROGRESS_KILLS[self._fired] * self.total:
            self._fire()

    def _fire(self) -> None:
        step = self._steps[self._fired]
        self._fired += 1
        step()

    def finish(self) -> None:
        """A load cut short by its deadline still gets every crash; then the killed cluster is back."""
        while self._fired < len(self._steps):
            self._fire()
        if self._restart is not None:
            self._restart.join(timeout=90)


# --- the phases --------------------------------------------------------------------------------


def _signer():
    """The signature header of a body, signed at send time by the portal's own helper."""
    from integrations.webhook_intake import SIGNATURE_HEADER, webhook_signature_header

    def sign(body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            SIGNATURE_HEADER: webhook_signature_header(body=body, secret=WEBHOOK_SECRET, timestamp=timestamp)
        }

    return sign


def _open_work(*, world: World, payments_until) -> list[str]:
    from django.db import DatabaseError, connection

    from bench.soak_state import outstanding

    try:
        return outstanding(paytrace=world.paytrace, payments_until=payments_until)
    except DatabaseError as error:  # our own connection was terminated too: the next look reconnects
        connection.close()
        return [f"database unavailable ({type(error).__name__})"]


def rest_wait(*, world: World, seconds: float) -> bool:
    """Until the start-up work (the first sync of the demo's payments, their postings) is done, at most
    `seconds`: the probe measures a system at rest."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if not _open_work(world=world, payments_until=None):
            return True
        time.sleep(0.5)
    return False


def probe(
    *, traffic: PayTraceTraffic, sampler, world: World, erp_system: str, seconds: float
) -> float | None:
    """One sale announced at once: seconds until its receipt is in the ERP, or None after `seconds` (the
    sampler keeps watching for it)."""
    from bench.soak_tables import erp_receipt_present

    started = time.monotonic()
    reference = traffic.sale(customer=world.customers[0], amount=Decimal("10.00"), plain=True)
    if reference is None:
        return None
    sampler.probe(reference=reference)
    while time.monotonic() - started < seconds:
        if erp_receipt_present(erp_system=erp_system, reference=reference):
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def quiescence_wait(
    *, world: World, sampler, payments_until, deadline: float, start: float, run: Run
) -> None:
    """Twice in a row nothing left (a second apart), or the deadline with what is left recorded."""
    from bench.soak_state import broker_queued, stuck_report

    faults_off, quiet, said = time.monotonic(), 0, 0.0
    while True:
        left = _open_work(world=world, payments_until=payments_until)
        quiet = 0 if left else quiet + 1
        if left:
            run.last_waited = left
        if quiet == 2:
            run.quiescent_after = time.monotonic() - faults_off - 1.0
            return
        now = time.monotonic()
        if now >= deadline:
            run.outstanding = left
            run.stuck = stuck_report(paytrace=world.paytrace, queued=broker_queued(sampler.redis))
            return
        if now - said >= 15:
            _say(start, "waiting for quiescence: " + ("; ".join(left) or "nothing left, looking again"))
            said = now
        time.sleep(1.0)


def ledger_read(*, world: World, erp_system: str) -> Ledger:
    from bench.soak_ledger import ledger_build
    from bench.soak_tables import (
        currency_rates,
        erp_documents,
        paytrace_facts,
        postings_read,
        transactions_recorded,
    )
    from portal.demo import PAYTRACE_USER

    return ledger_build(
        facts=paytrace_facts(username=PAYTRACE_USER),
        recorded=transactions_recorded(paytrace=world.paytrace),
        postings=postings_read(erp=world.erp),
        documents=erp_documents(erp_system=erp_system),
        rates=currency_rates(into=PAYTRACE_CURRENCY),
    )


def posting_rate(*, world: World, since) -> tuple[int, float | None]:
    """Documents posted to the ERP since `since`, and the most posted in any 10 s (a second's worth): the
    run's pace, which a tail of stranded postings would hide in an average."""
    from integrations.models import ErpPosting

    times = sorted(
        ErpPosting.objects.filter(connection=world.erp, status="posted", posted_at__gte=since).values_list(
            "posted_at", flat=True
        )
    )
    best, first = 0, 0
    for last, moment in enumerate(times):
        while (moment - times[first]).total_seconds() >= RATE_WINDOW_SECONDS:
            first += 1
        best = max(best, last - first + 1)
    return len(times), (best / RATE_WINDOW_SECONDS if times else None)


def first_receipt_posted(*, world: World, references: list[str]):
    """When the first of these sales' receipts was posted (the ERP had answered with its number)."""
    from django.db.models import Min

    from integrations.models import ErpPosting

    return ErpPosting.objects.filter(
        connection=world.erp, document_type="receipt", status="posted", reference__in=references
    ).aggregate(first=Min("posted_at"))["first"]


class Soak:
    """The run's phases, in order: `up`, `probe`, `load`, `settle`, `check`."""

    def __init__(self, *, args: argparse.Namespace, run: Run, stack: ExitStack, log_dir: Path):
        self.args, self.run, self.stack, self.log_dir = args, run, stack, log_dir
        self.start = time.monotonic()
        self.deadline = self.start + args.max_seconds - CHECK_RESERVE_SECONDS
        self.services: list[Service] = []

    def say(self, text: str) -> None:
        _say(self.start, text)

    def _service(self, service: Service) -> Service:
        self.services.append(service)
        self.stack.callback(service.stop)
        return service

    def up(self) -> None:
        """Database, Redis, gunicorn with the demo loaded (at once: the demo only needs the address), the
        world pointed at the ERP under test, then both clusters (so their first sync already posts there)."""
        args, stack, logs = self.args, self.stack, self.log_dir
        self.redis_url = stack.enter_context(redis_database())
        template = migrated_template(
            purpose="soak", env=lambda url: _environment(database_url=url, redis_url=self.redis_url)
        )
        database_url = stack.enter_context(
            scratch_database(name=f"paysage_soak_{os.getpid()}", keep=args.keep, template=template)
        )
        self.env = env = _environment(database_url=database_url, redis_url=self.redis_url)
        self.run.timings["migrate"] = time.monotonic() - self.start
        port = free_port()
        self.base_url = f"http://{HOST}:{port}"
        with ThreadPoolExecutor(max_workers=1) as pool:
            demo = pool.submit(demo_load, env=env, base_url=self.base_url, log=logs / "demo.log")
            web, _ = gunicorn_start(
                name="portal",
                wsgi="portal.wsgi:application",
                options=GUNICORN_OPTIONS,
                env=env,
                log=logs / "gunicorn.log",
                port=port,
            )
            self.web = self._service(web)
            demo.result()
        _django_setup(env=env)
        self.world = world_prepare(erp_system=args.erp)
        with ThreadPoolExecutor(max_workers=2) as pool:
            starts = [
                pool.submit(qcluster_start, name=f"qcluster-{n}", env=env, log=logs / f"qcluster-{n}.log")
                for n in (1, 2)
            ]
            self.clusters = [self._service(start.result()) for start in starts]
        from bench.soak_state import Sampler

        self.sampler = Sampler(erp_system=args.erp, redis_url=self.redis_url)
        self.sampler.start()
        self.stack.callback(self.sampler.stop)
        self.run.watch = self.sampler.watch
        self.run.timings["set-up"] = time.monotonic() - self.start  # migrate included
        # --max-seconds bounds the scenario; the set-up has its own bounds (each service's start, migrate),
        # so a crowded machine's slow start-up does not eat the time the scenario is judged on.
        self.deadline = time.monotonic() + self.args.max_seconds - CHECK_RESERVE_SECONDS
        self.say(
            f"up: gunicorn on {self.base_url}, 2 clusters, demo loaded, posting to {self.world.erp.name}"
        )

    def probe(self) -> None:
        from integrations.paytrace.client import PayTraceClient
        from portal.demo import INTEGRATOR_ID, PAYTRACE_PASSWORD, PAYTRACE_USER

        args, run = self.args, self.run
        self.sender = WebhookSender(
            url=f"{self.base_url}/webhooks/paytrace/",
            sign=_signer(),
            rng=random.Random(args.seed),
            plan=DeliveryPlan(late_seconds=args.mode.late_seconds),
        )
        self.stack.callback(self.sender.close, deadline=0)
        client = PayTraceClient(
            base_url=f"{self.base_url}/sandbox/paytrace",
            username=PAYTRACE_USER,
            password=PAYTRACE_PASSWORD,
            integrator_id=INTEGRATOR_ID,
            timeout=10,
        )
        self.traffic = PayTraceTraffic(
            client=client,
            sender=self.sender,
            customers=self.world.customers,
            rng=random.Random(args.seed + 1),
            plan=TrafficPlan(settle_rounds=args.mode.settle_rounds),
        )
        run.traffic, run.deliveries = self.traffic.stats, self.sender.stats
        rested = rest_wait(world=self.world, seconds=args.mode.probe_seconds / 2)
        run.probe_note = "" if rested else "start-up work still open when the probe began"
        run.probe_seconds = probe(
            traffic=self.traffic,
            sampler=self.sampler,
            world=self.world,
            erp_system=args.erp,
            seconds=args.mode.probe_seconds,
        )
        waited = (
            f"{run.probe_seconds:.1f} s" if run.probe_seconds else f"not within {args.mode.probe_seconds:g} s"
        )
        self.say(f"probe: first receipt at rest {waited}")

    def load(self) -> None:
        """Faults on, the payments and their webhooks, the crashes on the way; every delivery made."""
        from django.utils import timezone

        args, run = self.args, self.run
        run.fault_rates = fault_rates(share=args.fault_rate)
        faults_set(erp_system=args.erp, rates=run.fault_rates)
        chaos = Chaos(clusters=self.clusters, web=self.web, total=args.transactions, start=self.start)
        probed = len(self.traffic.stats.approved_ids)
        self.load_start, self.load_since = time.monotonic(), timezone.now()
        self.say(f"load: {args.transactions} PayTrace transactions, faults {run.fault_rates}")
        self.traffic.run(
            transactions=args.transactions,
            deadline=min(self.load_start + args.mode.load_share * args.max_seconds, self.deadline),
            progress=chaos.progress,
        )
        self.payments_until = timezone.now()
        self.load_sales = self.traffic.stats.approved_ids[probed:]
        chaos.finish()
        run.chaos = chaos.done
        run.failures += chaos.problems
        late_max = args.mode.late_seconds[1]
        left = self.sender.close(deadline=min(time.monotonic() + 2 * late_max + 20, self.deadline))
        if left:
            run.failures.append(f"{left} webhook deliveries still queued when the sender had to stop")
        run.timings["load"] = time.monotonic() - self.load_start
        self.say(
            f"load done: {self.traffic.stats.created} transactions, {self.sender.stats.deliveries} deliveries"
        )

    def settle(self) -> None:
        faults_set(erp_system=self.args.erp, rates=None)
        self.say("faults off; waiting for quiescence")
        quiescence_wait(
            world=self.world,
            sampler=self.sampler,
            payments_until=self.payments_until,
            deadline=self.deadline,
            start=self.start,
            run=self.run,
        )
        self.sampler.stop()

    def check(self) -> None:
        run = self.run
        run.posted, run.postings_per_second = posting_rate(world=self.world, since=self.load_since)
        first = first_receipt_posted(world=self.world, references=self.load_sales)
        run.first_receipt_seconds = (first - self.load_since).total_seconds() if first else None
        run.ledger = ledger_read(world=self.world, erp_system=self.args.erp)
        run.timings["total"] = time.monotonic() - self.start

    def tails(self) -> None:
        for service in self.services:
            print(f"\n--- last lines of {service.name}'s log ---\n{service.log_tail()}", flush=True)
        demo = self.log_dir / "demo.log"
        if demo.exists():
            print(f"\n--- demo load ---\n{demo.read_text()[-LOG_TAIL_CHARS:]}", flush=True)


def main() -> int:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    run = Run(erp=args.erp, transactions=args.transactions, fault_share=args.fault_rate)
    print(
        f"soak: {args.erp}, {args.transactions} PayTrace transactions, ERP faults on {args.fault_rate:.0%} "
        f"of writes, within {args.max_seconds:g} s; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with ExitStack() as stack:
        log_dir = Path(tempfile.mkdtemp(prefix="paysage-soak-"))
        if not args.keep:
            stack.callback(shutil.rmtree, log_dir, ignore_errors=True)
        soak = Soak(args=args, run=run, stack=stack, log_dir=log_dir)
        try:
            for phase in (soak.up, soak.probe, soak.load, soak.settle, soak.check):
                phase()
        except Exception:  # noqa: BLE001 - reported with the services' logs, then the exit status says it
            run.failures.append("the run stopped on an error:\n" + traceback.format_exc())
        failed = report_print(run)
        if failed and (run.failures or run.outstanding):
            soak.tails()
        if args.keep:
            print(f"kept: service logs in {log_dir}, database paysage_soak_{os.getpid()}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: services stopped, databases dropped and flushed", file=sys.stderr)
        sys.exit(130)
