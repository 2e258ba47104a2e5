"""Webhook ingest benchmark: our signed endpoint against a bare signed-insert view (DESIGN.md "Targets").

    .venv/bin/python bench/webhook_ingest.py --events 3000 --concurrency 16 [--repeat 3]

One run creates its own PostgreSQL database, migrates it, serves the portal (`portal.wsgi`) and the
baseline (`bench.baseline.wsgi`) with the same gunicorn settings, sends unique signed
`transaction.success` events to each side in turn (portal, baseline, portal, ... so that the noise of a
shared machine falls on both), and prints events/s, p50/p99 latency, errors and lost events per run, the
median of the repeats and the portal/baseline ratio. Whatever it starts it stops, and the database is
dropped, on success, error or Ctrl-C. Exit status 1 when an event was lost or answered with an error.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the portal and bench.* import from the checkout

from bench.baseline.views import TABLE as BASELINE_TABLE, TABLE_DDL as BASELINE_DDL  # noqa: E402
from bench.harness import HOST, PG_SERVER, database_migrate, gunicorn_serve, scratch_database  # noqa: E402

WEBHOOK_PATH = "/webhooks/paytrace/"
SECRET = "paysage-bench-webhook-secret"
# Bounds: loopback only, and never more than this much work or time whatever the options say.
MAX_EVENTS, MAX_CONCURRENCY, MAX_REPEAT = 200_000, 256, 9
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Side:
    name: str
    wsgi: str
    settings: str
    table: str


SIDES = (
    Side("portal", "portal.wsgi:application", "portal.settings", "integrations_webhookevent"),
    Side("baseline", "bench.baseline.wsgi:application", "bench.baseline.settings", BASELINE_TABLE),
)


@dataclass(frozen=True)
class Run:
    side: str
    label: str
    events_per_second: float
    errors: int
    lost: int
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float  # per event: the gunicorn workers and their PostgreSQL backends
    client_cpu_ms: float  # per event: this process, sending


@dataclass(frozen=True)
class Server:
    side: Side
    port: int


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000, help="events per measured run (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per side; the median is kept")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured events before each run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per side (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds allowed per request")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="give up after this long")
    args = parser.parse_args()
    limits = {"events": MAX_EVENTS, "concurrency": MAX_CONCURRENCY, "repeat": MAX_REPEAT, "workers": 8}
    for name, limit in limits.items():
        if not 1 <= getattr(args, name) <= limit:
            parser.error(f"--{name} must be between 1 and {limit}")
    args.warmup = max(0, min(args.warmup, args.events))
    return args


# --- the database -----------------------------------------------------------------------------


def _server_env(*, database_url: str, settings_module: str) -> dict[str, str]:
    # DEBUG off as in production (DEBUG keeps every query in memory); SANDBOX off because the
    # simulators are not part of ingest and prod does not mount them; REDIS_URL empty: the ORM broker.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": database_url,
        "PAYSAGE_ENV": "dev",
        "SANDBOX": "0",
        "DEBUG": "0",
        "REDIS_URL": "",
        "PAYTRACE_WEBHOOK_SECRET": SECRET,
    }


def database_prepare(*, database_url: str) -> None:
    database_migrate(env=_server_env(database_url=database_url, settings_module="portal.settings"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(BASELINE_DDL)


def _stored_ids(*, database_url: str, table: str, prefix: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"SELECT event_id FROM {table} WHERE event_id LIKE %s", [prefix + "%"])
        return {row[0] for row in rows}


def _count_rows(*, database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- CPU time: outside load on a shared machine moves events/s far more than it moves CPU per event ---


def _proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (11 and 12: user and system time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    return {pid: (int(f[11]) + int(f[12])) / CLOCK_TICKS for pid in pids if (f := _proc_stat(pid))}


def _gunicorn_pids(*, port: int) -> list[int]:
    """The arbiter and workers bound to `port` (forked workers keep the arbiter's command line)."""
    bind, pids = f"{HOST}:{port}".encode(), []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = path.read_bytes().split(b"\0")
        except OSError:
            continue
        if bind in argv and any(b"gunicorn" in arg for arg in argv):
            pids.append(int(path.parent.name))
    return pids


def _server_pids(*, server: Server, database_url: str) -> list[int]:
    workers = _gunicorn_pids(port=server.port)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [f"bench-{server.side.name}"]
        )
        return workers + [row[0] for row in rows]


def _cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    # A backend that closed during the run (CONN_MAX_AGE) takes its last seconds with it: a small undercount.
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- the load ---------------------------------------------------------------------------------


def _events(*, prefix: str, count: int, first_transaction_id: int) -> list[tuple[str, bytes]]:
    created = int(time.time())
    events = []
    for n in range(count):
        event_id, transaction_id = f"{prefix}{n}", first_transaction_id + n
        data = {
            "transactionId": transaction_id,
            "transactionType": "sale",
            "amount": f"{10 + n % 990}.{n % 100:02d}",
            "currency": "USD",
            "status": "approved",
            "paymentMethodType": "card",
            "customerId": f"cust-{n % 500}",
            "orderId": f"ord-{transaction_id}",
            "invoiceId": f"inv-{transaction_id}",
            "timestamp": created,
            "processorResponseCode": "00",
        }
        body = {"id": event_id, "type": "transaction.success", "created": created, "data": data}
        events.append((event_id, json.dumps(body).encode()))
    return events


Signer = Callable[[bytes], str]


def portal_signer() -> Signer:
    """The signature header line, made by the portal's own helper (importing it needs its settings)."""
    os.environ.update(_server_env(database_url=f"{PG_SERVER}/postgres", settings_module="portal.settings"))
    import django

    django.setup()
    from integrations.webhook_intake import SIGNATURE_HEADER, webhook_signature_header

    def sign(body: bytes) -> str:
        timestamp = int(time.time())  # at send time: a long run must not drift out of the tolerance
        return (
            f"{SIGNATURE_HEADER}: {webhook_signature_header(body=body, secret=SECRET, timestamp=timestamp)}"
        )

    return sign


async def _post(*, port: int, body: bytes, sign: Signer, timeout: float) -> tuple[int, float]:
    """One request on its own connection (sync workers close after each answer): (status, seconds).

    A raw asyncio client rather than `requests`: the client shares the two cores with the servers, so
    the less CPU it spends per request the less it weighs on the figures. Status 0: no answer."""
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{sign(body)}\r\nConnection: close\r\n\r\n"
    )
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            try:
                writer.write(head.encode() + body)
                answer = await reader.read()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return 0, time.perf_counter() - start
    status = answer.split(b"\r\n", 1)[0].split(b" ")
    return (int(status[1]) if len(status) > 1 and status[1].isdigit() else 0), time.perf_counter() - start


async def events_post(
    *, port: int, bodies: list[bytes], sign: Signer, concurrency: int, timeout: float
) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = [(0, 0.0)] * len(bodies)
    indexes = iter(range(len(bodies)))  # shared: each index is taken by exactly one sender

    async def sender() -> None:
        for index in indexes:
            results[index] = await _post(port=port, body=bodies[index], sign=sign, timeout=timeout)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return results


class Bench:
    def __init__(self, *, args: argparse.Namespace, database_url: str, sign: Signer):
        self.args, self.database_url, self.sign = args, database_url, sign
        self.deadline = time.monotonic() + args.max_seconds
        self.next_transaction_id = 900_000_000

    def _send(self, *, port: int, prefix: str, count: int) -> tuple[list[tuple[str, bytes]], list, float]:
        events = _events(prefix=prefix, count=count, first_transaction_id=self.next_transaction_id)
        self.next_transaction_id += count
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"--max-seconds {self.args.max_seconds:g} spent")
        load = events_post(
            port=port,
            bodies=[body for _, body in events],
            sign=self.sign,
            concurrency=self.args.concurrency,
            timeout=self.args.timeout,
        )
        start = time.perf_counter()
        results = asyncio.run(asyncio.wait_for(load, remaining))
        return events, results, time.perf_counter() - start

    def run(self, *, server: Server, label: str) -> Run:
        side = server.side
        self._send(port=server.port, prefix=f"{side.name}-warm{label}-", count=self.args.warmup)
        prefix = f"{side.name}-run{label}-"
        pids = _server_pids(server=server, database_url=self.database_url)
        server_before, client_before = cpu_seconds(pids), time.process_time()
        events, results, seconds = self._send(port=server.port, prefix=prefix, count=self.args.events)
        client_seconds = time.process_time() - client_before
        server_after = cpu_seconds(_server_pids(server=server, database_url=self.database_url))
        accepted = {
            event_id
            for (event_id, _), (status, _) in zip(events, results, strict=True)
            if 200 <= status < 300
        }
        stored = _stored_ids(database_url=self.database_url, table=side.table, prefix=prefix)
        percentiles = statistics.quantiles([latency for _, latency in results], n=100, method="inclusive")
        return Run(
            side=side.name,
            label=label,
            events_per_second=len(accepted) / seconds,
            errors=len(events) - len(accepted),
            lost=len(accepted - stored),
            p50_ms=percentiles[49] * 1000,
            p99_ms=percentiles[98] * 1000,
            server_cpu_ms=_cpu_spent(server_before, server_after) / len(events) * 1000,
            client_cpu_ms=client_seconds / len(events) * 1000,
        )


# --- the report -------------------------------------------------------------------------------

ROW = "{:<9} {:>6} {:>9} {:>7} {:>7} {:>11} {:>11} {:>7} {:>5}"
HEADINGS = ("side", "run", "events/s", "p50 ms", "p99 ms", "server cpu", "client cpu", "errors", "lost")


def _row(run: Run) -> str:
    figures = (
        f"{run.events_per_second:.0f}",
        f"{run.p50_ms:.1f}",
        f"{run.p99_ms:.1f}",
        f"{run.server_cpu_ms:.2f}",
        f"{run.client_cpu_ms:.2f}",
    )
    return ROW.format(run.side, run.label, *figures, run.errors, run.lost)


def _median(runs: list[Run]) -> Run:
    return Run(
        side=runs[0].side,
        label="median",
        events_per_second=statistics.median(run.events_per_second for run in runs),
        errors=sum(run.errors for run in runs),
        lost=sum(run.lost for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        server_cpu_ms=statistics.median(run.server_cpu_ms for run in runs),
        client_cpu_ms=statistics.median(run.client_cpu_ms for run in runs),
    )


def main() -> int:
    args = _arguments()
    sign = portal_signer()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    load_before = os.getloadavg()
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(name=f"paysage_bench_{os.getpid()}"))
        database_prepare(database_url=database_url)
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paysage-bench-")))
        options = ["--workers", str(args.workers), "--worker-class", "sync", "--timeout", "30"]
        servers = {}
        for side in SIDES:
            # The application name tells each side's PostgreSQL backends apart, to count their CPU time.
            named_url = f"{database_url}?application_name=bench-{side.name}"
            env = _server_env(database_url=named_url, settings_module=side.settings)
            log = log_dir / f"{side.name}.log"
            port = stack.enter_context(
                gunicorn_serve(name=side.name, wsgi=side.wsgi, options=options, env=env, log=log)
            )
            servers[side.name] = Server(side=side, port=port)
        bench = Bench(args=args, database_url=database_url, sign=sign)
        print(
            f"webhook ingest: {args.events} events x {args.repeat} runs per side, "
            f"concurrency {args.concurrency}, warm-up {args.warmup}, "
            f"gunicorn -w {args.workers} sync per side, {os.cpu_count()} CPUs, "
            f"load average {load_before[0]:.2f}",
            flush=True,
        )
        print(
            "server cpu, client cpu: CPU milliseconds per event (workers + their PostgreSQL backends; sender)"
        )
        print(ROW.format(*HEADINGS), flush=True)
        runs: dict[str, list[Run]] = {side.name: [] for side in SIDES}
        for repeat in range(1, args.repeat + 1):
            for side in SIDES:  # alternate, so a burst of outside load hits both sides alike
                run = bench.run(server=servers[side.name], label=str(repeat))
                runs[side.name].append(run)
                print(_row(run), flush=True)
        medians = {name: _median(side_runs) for name, side_runs in runs.items()}
        for median in medians.values():
            print(_row(median))
        portal, baseline = medians["portal"], medians["baseline"]
        enqueued = _count_rows(database_url=database_url, table="django_q_ormq")
    ratio = portal.events_per_second / baseline.events_per_second
    print(f"portal/baseline events/s: {ratio:.2f} (target >= 0.80)")
    print(f"baseline/portal server CPU per event: {baseline.server_cpu_ms / portal.server_cpu_ms:.2f}")
    print(f"drain tasks enqueued by the portal over the whole run: {enqueued}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (before: {load_before[0]:.2f})")
    return 1 if portal.errors or portal.lost or baseline.errors or baseline.lost else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, database dropped", file=sys.stderr)
        sys.exit(130)
