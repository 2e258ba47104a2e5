"""End-to-end drain benchmark: from a signed webhook to its Transaction row, a qcluster draining.

    .venv/bin/python bench/drain_e2e.py --events 1000 [--repeat 3] [--concurrency 16]

One run creates its own PostgreSQL database and Redis database, migrates, and serves two gunicorns of the
portal: one takes the webhooks (the intake), the other serves the sandbox PayTrace simulator, which the
demo's PayTrace connection points at, so the drain's re-reads cross HTTP to a server of their own as they
cross to PayTrace. The demo world is loaded and the risk policy's velocity and card-testing limits lifted
(the bench's sales come far faster than a merchant's); each sale is paid with a card of its own. One
`manage.py qcluster` drains, serving only the inbox queue (`TASK_QUEUES=inbox,outbox`, `Q_QUEUE=inbox`:
no ERP posting nor schedule competes with it), with Redis as broker and cache.

Each round makes `--events` keyed sales in the simulator first (not timed), then posts one signed
`transaction.success` per sale at `--concurrency` requests in flight, and waits until every sale's
Transaction row is stored. It prints, per round and as the median of the rounds:

- intake events/s: events answered 2xx over the sending time, the drain running meanwhile;
- end-to-end events/s: events over the time from the first event received to the last Transaction row
  stored (database clock: `WebhookEvent.created_at`, `Transaction.created_at`), and its ratio to the
  intake (target >= 0.5);
- latency p50/p99: each event's receipt to its Transaction row;
- drain CPU ms per event: the cluster's processes and their PostgreSQL backends.

Whatever it starts it stops, and its database is dropped and its Redis database flushed, on success,
error or Ctrl-C. Exit status 1 when an event was refused or its transaction never stored.
"""

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the portal and bench.* import from the checkout

from bench.harness import (  # noqa: E402
    HOST,
    database_migrate,
    free_port,
    gunicorn_start,
    qcluster_start,
    redis_database,
    scratch_database,
)
from bench.soak import demo_load  # noqa: E402
from bench.webhook_ingest import cpu_seconds, events_post  # noqa: E402

SECRET = "paysage-bench-drain-webhook-secret"
MAX_EVENTS, MAX_CONCURRENCY, MAX_REPEAT = 20_000, 128, 9
# The intake as `webhook_ingest.py` serves it; the simulator threaded, as PayTrace answers calls side by side.
GUNICORN_OPTIONS = {
    "intake": ["--workers", "2", "--worker-class", "sync", "--timeout", "30"],
    "paytrace": ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "120"],
}
SALE_WRITERS = 4  # threads making the round's sales in the simulator before it is timed
CLIENT_TIMEOUT_SECONDS = 60
RISK_RULES = {
    "velocity_customer": {"limit": 1_000_000},
    "velocity_card": {"limit": 1_000_000},
    "velocity_ip": {"limit": 1_000_000},
    "card_testing": {"declines": 1_000_000},
}


@dataclass(frozen=True)
class Round:
    label: str
    intake_per_second: float
    e2e_per_second: float
    p50_s: float
    p99_s: float
    drain_cpu_ms: float
    refused: int
    missing: int

    @property
    def ratio(self) -> float:
        return self.e2e_per_second / self.intake_per_second


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1000, help="events per round (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="webhooks in flight (default 16)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is kept (default 3)")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="give up after this long")
    args = parser.parse_args()
    for name, limit in {"events": MAX_EVENTS, "concurrency": MAX_CONCURRENCY, "repeat": MAX_REPEAT}.items():
        if not 1 <= getattr(args, name) <= limit:
            parser.error(f"--{name} must be between 1 and {limit}")
    return args


def _environment(*, database_url: str, redis_url: str, role: str) -> dict[str, str]:
    # DEBUG off as in production; SANDBOX on: the simulator is PayTrace; Redis as broker and cache. The
    # application name tells the cluster's PostgreSQL backends apart, to count their CPU time.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"{database_url}?application_name=bench-{role}",
        "REDIS_URL": redis_url,
        "REDIS_CACHE_URL": "",
        "PAYSAGE_ENV": "dev",
        "SANDBOX": "1",
        "DEBUG": "0",
        "ALERT_EMAILS": "",
        "ALERT_WEBHOOK_URL": "",
        "PAYTRACE_WEBHOOK_SECRET": SECRET,
        # The inbox on a queue of its own, as the README's Reliability section sets it up: the cluster
        # measured drains webhooks only; ERP posting and the schedules are not part of this path.
        "TASK_QUEUES": "inbox,outbox",
    }


def _django_setup(*, env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _world_prepare() -> None:
    """The risk limits lifted; the PayTrace client's timeout raised, as a crowded machine's simulator can
    take longer than the default 15 s to answer."""
    from integrations.models import Connection, System
    from payments.models import RiskPolicy

    paytrace = Connection.objects.get(system=System.PAYTRACE)
    paytrace.options = {**paytrace.options, "timeout": CLIENT_TIMEOUT_SECONDS}
    paytrace.save(update_fields=["options"])

    policy = RiskPolicy.objects.order_by("pk").first() or RiskPolicy()
    policy.rules = {**policy.rules, **RISK_RULES}
    policy.save()


def _paytrace_client():
    from integrations.models import Connection, System
    from integrations.paytrace.client import PayTraceClient

    return PayTraceClient.from_connection(Connection.objects.get(system=System.PAYTRACE))


def _card(n: int):
    """A Luhn-valid Visa of its own per sale, as a merchant's buyers pay with many cards (the simulator
    approves any valid number; the test Visa's prefix keeps its brand)."""
    from integrations.paytrace.types import Card
    from portal.pci import luhn_valid

    body = f"401200{n % 10**9:09d}"
    check = next(digit for digit in "0123456789" if luhn_valid(body + digit))
    return Card(number=body + check, expiration_month=12, expiration_year=2030, csc="999")


def _sales(*, count: int, first: int) -> list[str]:
    from integrations.paytrace.types import BillingAddress

    client = _paytrace_client()

    def one(n: int) -> str:
        amount = Decimal(f"{10 + n % 990}.{n % 100:02d}")  # clear of the sandbox's decline amounts
        address = BillingAddress(name="Bench Buyer", zip="98101", country="US")
        return client.sale(amount=amount, source=_card(first + n), billing_address=address).transaction_id

    with ThreadPoolExecutor(max_workers=SALE_WRITERS) as pool:
        return list(pool.map(one, range(count)))


def _signer():
    from integrations.webhook_intake import SIGNATURE_HEADER, webhook_signature_header

    def sign(body: bytes) -> str:
        header = webhook_signature_header(body=body, secret=SECRET, timestamp=int(time.time()))
        return f"{SIGNATURE_HEADER}: {header}"

    return sign


def _bodies(*, label: str, transaction_ids: list[str]) -> list[bytes]:
    import json

    created = int(time.time())
    return [
        json.dumps(
            {
                "id": f"e2e-{label}-{n}",
                "type": "transaction.success",
                "created": created,
                "data": {"transactionId": transaction_id},
            }
        ).encode()
        for n, transaction_id in enumerate(transaction_ids)
    ]


def _drain_pids(cluster) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-drain'")
        backends = [row[0] for row in cursor.fetchall()]
    return cluster.group() + backends


def _stored(*, transaction_ids: list[str]) -> int:
    from payments.models import Transaction

    return Transaction.objects.filter(transaction_id__in=transaction_ids).count()


def _timings(*, label: str) -> tuple[float, list[float]]:
    """Seconds from the first event received to the last row stored, and each event's latency."""
    from integrations.models import WebhookEvent

    pairs = list(
        WebhookEvent.objects.filter(
            event_id__startswith=f"e2e-{label}-", transaction__isnull=False
        ).values_list("created_at", "transaction__created_at")
    )
    first = min(received for received, _ in pairs)
    last = max(stored for _, stored in pairs)
    return (last - first).total_seconds(), [(stored - received).total_seconds() for received, stored in pairs]


class Bench:
    def __init__(self, *, args: argparse.Namespace, port: int, cluster):
        self.args, self.port, self.cluster = args, port, cluster
        self.deadline = time.monotonic() + args.max_seconds
        self.sign = _signer()

    def round(self, label: str) -> Round:
        ids = _sales(count=self.args.events, first=int(label) * self.args.events)
        bodies = _bodies(label=label, transaction_ids=ids)
        pids = _drain_pids(self.cluster)
        cpu_before = cpu_seconds(pids)
        load = events_post(
            port=self.port, bodies=bodies, sign=self.sign, concurrency=self.args.concurrency, timeout=10.0
        )
        start = time.perf_counter()
        results = asyncio.run(load)
        sending = time.perf_counter() - start
        accepted = sum(1 for status, _ in results if 200 <= status < 300)
        while _stored(transaction_ids=ids) < len(ids) and time.monotonic() < self.deadline:
            time.sleep(0.25)
        cpu_after = cpu_seconds(_drain_pids(self.cluster) + pids)
        missing = len(ids) - _stored(transaction_ids=ids)
        span, latencies = _timings(label=label)
        percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
        spent = sum(seconds - cpu_before.get(pid, 0.0) for pid, seconds in cpu_after.items())
        return Round(
            label=label,
            intake_per_second=accepted / sending,
            e2e_per_second=len(latencies) / span,
            p50_s=percentiles[49],
            p99_s=percentiles[98],
            drain_cpu_ms=spent / len(ids) * 1000,
            refused=len(ids) - accepted,
            missing=missing,
        )


ROW = "{:<7} {:>9} {:>9} {:>6} {:>7} {:>7} {:>10} {:>8} {:>8}"
HEADINGS = ("round", "intake/s", "e2e/s", "ratio", "p50 s", "p99 s", "drain cpu", "refused", "missing")


def _row(run: Round) -> str:
    return ROW.format(
        run.label,
        f"{run.intake_per_second:.0f}",
        f"{run.e2e_per_second:.0f}",
        f"{run.ratio:.2f}",
        f"{run.p50_s:.2f}",
        f"{run.p99_s:.2f}",
        f"{run.drain_cpu_ms:.1f}",
        run.refused,
        run.missing,
    )


def _median(runs: list[Round]) -> Round:
    def middle(name: str) -> float:
        return statistics.median(getattr(run, name) for run in runs)

    return Round(
        label="median",
        intake_per_second=middle("intake_per_second"),
        e2e_per_second=middle("e2e_per_second"),
        p50_s=middle("p50_s"),
        p99_s=middle("p99_s"),
        drain_cpu_ms=middle("drain_cpu_ms"),
        refused=sum(run.refused for run in runs),
        missing=sum(run.missing for run in runs),
    )


def main() -> int:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    load_before = os.getloadavg()
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(name=f"paysage_drain_{os.getpid()}"))
        redis_url = stack.enter_context(redis_database())
        env = _environment(database_url=database_url, redis_url=redis_url, role="web")
        database_migrate(env=env)
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paysage-drain-")))
        servers = {}
        for name in ("intake", "paytrace"):
            server, port = gunicorn_start(
                name=name,
                wsgi="portal.wsgi:application",
                options=GUNICORN_OPTIONS[name],
                env=env,
                log=logs / f"{name}.log",
                port=free_port(),
            )
            stack.callback(server.stop)
            servers[name] = port
        demo_load(env=env, base_url=f"http://{HOST}:{servers['paytrace']}", log=logs / "demo.log")
        _django_setup(env=_environment(database_url=database_url, redis_url=redis_url, role="reader"))
        _world_prepare()
        drain_env = {
            **_environment(database_url=database_url, redis_url=redis_url, role="drain"),
            "Q_QUEUE": "inbox",
        }
        cluster = qcluster_start(name="qcluster", env=drain_env, log=logs / "qcluster.log")
        stack.callback(cluster.stop)
        bench = Bench(args=args, port=servers["intake"], cluster=cluster)
        print(
            f"drain end to end: {args.events} events x {args.repeat} rounds, concurrency {args.concurrency}, "
            f"gunicorn -w 2 for the intake (sync) and the PayTrace simulator (4 threads each), "
            f"one inbox qcluster "
            f"(Q_WORKERS {os.environ.get('Q_WORKERS', '2')}), {os.cpu_count()} CPUs, "
            f"load average {load_before[0]:.2f}",
            flush=True,
        )
        print(ROW.format(*HEADINGS), flush=True)
        runs = []
        for repeat in range(1, args.repeat + 1):
            runs.append(bench.round(str(repeat)))
            print(_row(runs[-1]), flush=True)
        median = _median(runs)
        print(_row(median))
    print(f"end-to-end / intake events/s: {median.ratio:.2f} (target >= 0.50)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (before: {load_before[0]:.2f})")
    return 1 if median.refused or median.missing else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and cluster stopped, database dropped", file=sys.stderr)
        sys.exit(130)
