"""What every benchmark here needs: a scratch PostgreSQL database, a Redis database of its own, and
services (gunicorn, django-q2 clusters) on loopback that are stopped, and the databases dropped or
flushed, whatever way the run ends."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
HOST = "127.0.0.1"
# How long a service may take to start and answer: minutes, not seconds, on a machine shared by busy runs
# (a portal worker's first answer loads the URLconf and the admin, tens of seconds at a load average of 15).
STARTUP_SECONDS = 180
FIRST_ANSWER_SECONDS = 20
LOG_TAIL_CHARS = 3000


def admin_execute(sql: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch_database(*, name: str, keep: bool = False, template: str = "") -> Iterator[str]:
    """A new database `name` for the block, empty or a copy of `template`; its URL is yielded and it is
    dropped on the way out, unless `keep` (to look into it afterwards: drop it yourself)."""
    # A leftover of a killed run that had our pid would otherwise make CREATE fail.
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        if not keep:
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A migrated database kept as a template, named after the migrations it holds: copying it takes seconds,
# where migrating from scratch takes minutes on a busy machine.
TEMPLATE_PREFIX = "paysage_bench_migrated_"
TEMPLATE_READY = "migrated"  # the template's comment once its migration finished
TEMPLATE_LOCK = 0x50A5  # advisory lock: one run builds a template, the others wait for it


def _migrations_digest() -> str:
    digest = hashlib.sha1()
    for path in sorted(REPO.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def migrated_template(*, purpose: str, env: Callable[[str], dict[str, str]]) -> str:
    """The name of a database migrated to the current migrations, built if no earlier run left it, with
    `env(url)` as the environment of `manage.py migrate` (what runs after a migrate, the schedules say,
    reads the settings: one template per `purpose`); older ones of that purpose are dropped."""
    prefix = f"{TEMPLATE_PREFIX}{purpose}_"
    name = prefix + _migrations_digest()
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK])
        try:
            ready = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if ready is None or ready[0] != TEMPLATE_READY:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
                database_migrate(env=env(f"{PG_SERVER}/{name}"))
                conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{TEMPLATE_READY}'")
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                [prefix + "%", name],
            ).fetchall()
            for (old,) in stale:
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK])
    return name


def database_migrate(*, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=300,
    )


# --- Redis -------------------------------------------------------------------------------------

REDIS_OWNER_KEY = "paysage-bench:owner"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_claim(client: redis.Redis) -> bool:
    """Take an empty database, or one a bench that has since died left behind; never one in other use."""
    owner = client.get(REDIS_OWNER_KEY)
    if owner is not None and owner.isdigit() and not _pid_alive(int(owner)):
        client.flushdb()  # a killed run's leftovers: its broker queues and cache keys
    if not client.set(REDIS_OWNER_KEY, str(os.getpid()), nx=True):
        return False
    if client.dbsize() == 1:
        return True
    client.delete(REDIS_OWNER_KEY)  # someone else's keys are there, without an owner mark
    return False


@contextmanager
def redis_database(*, numbers: range = range(10, 16)) -> Iterator[str]:
    """A Redis database of our own among `numbers` (the low ones are left to the portal's defaults), marked
    with our pid while we hold it; its URL is yielded and only that database is flushed on the way out."""
    for number in numbers:
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        if _redis_claim(client):
            break
        client.close()
    else:
        raise RuntimeError(f"no free Redis database among {numbers.start}-{numbers.stop - 1}")
    try:
        yield f"{REDIS_SERVER}/{number}"
    finally:
        client.flushdb()
        client.close()


# --- services ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=FIRST_ANSWER_SECONDS) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def process_stop(process: subprocess.Popen) -> None:
    """The whole process group: the gunicorn arbiter and its workers."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process, from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(stat.parent.name), int(fields[1]), int(fields[2])


def process_children(pid: int) -> list[int]:
    """The direct children of `pid` (a gunicorn arbiter's workers)."""
    return [child for child, parent, _ in _processes() if parent == pid]


def process_group(pid: int) -> list[int]:
    """Every process in the group `pid` leads (a django-q2 cluster: sentinel, pusher, monitor, workers)."""
    return [member for member, _, group in _processes() if group == pid]


class Service:
    """A command in its own process group, so it is stopped (or SIGKILLed) as a whole with everything it
    forked, and untouched by the terminal's Ctrl-C; its output is appended to `log`, across restarts."""

    def __init__(self, *, name: str, command: list[str], env: dict[str, str], log: Path):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash (or the OOM killer) would: nothing gets to clean up."""
        if self.running:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            process_stop(self.process)

    def children(self) -> list[int]:
        return process_children(self.process.pid) if self.running else []

    def group(self) -> list[int]:
        return process_group(self.process.pid) if self.running else []

    def log_tail(self, *, chars: int = LOG_TAIL_CHARS) -> str:
        with self.log.open("rb") as handle:
            handle.seek(max(0, self.log.stat().st_size - chars))
            return handle.read().decode(errors="replace")

    def wait_until(self, ready, *, what: str) -> None:
        """Until `ready()` holds; a service that exits or takes longer than STARTUP_SECONDS fails the run
        with its log."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not ready():
            if not self.running or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not {what}; its log:\n{self.log_tail()}")
            time.sleep(0.2)


def gunicorn_start(
    *, name: str, wsgi: str, options: list[str], env: dict[str, str], log: Path, port: int | None = None
) -> tuple[Service, int]:
    """`gunicorn wsgi options` on `port` (a free loopback one by default), returned once it answers; the
    caller stops it."""
    port = port or free_port()
    command = [
        sys.executable, "-m", "gunicorn", wsgi, "--bind", f"{HOST}:{port}",
        "--graceful-timeout", "5", "--no-control-socket", "--log-level", "warning", *options,
    ]  # fmt: skip
    server = Service(name=f"{name} server", command=command, env=env, log=log)
    server.start()
    try:
        server.wait_until(lambda: _answers(port), what="start")
    except BaseException:
        server.stop()
        raise
    return server, port


@contextmanager
def gunicorn_serve(
    *, name: str, wsgi: str, options: list[str], env: dict[str, str], log: Path
) -> Iterator[int]:
    """`gunicorn wsgi options` on a free loopback port, yielded once it answers; stopped on the way out."""
    server, port = gunicorn_start(name=name, wsgi=wsgi, options=options, env=env, log=log)
    try:
        yield port
    finally:
        server.stop()


def qcluster_start(*, name: str, env: dict[str, str], log: Path) -> Service:
    """`manage.py qcluster`, returned once it says it runs; the caller stops it. Started again with
    `start()` after a kill, it appends to the same log."""
    cluster = Service(name=name, command=[sys.executable, "manage.py", "qcluster"], env=env, log=log)
    qcluster_run(cluster=cluster)
    return cluster


def qcluster_run(*, cluster: Service) -> None:
    """Start (or start again) a cluster and wait for its "running" line, written after this start."""
    offset = cluster.log.stat().st_size if cluster.log.exists() else 0
    cluster.start()

    def running() -> bool:
        with cluster.log.open("rb") as handle:
            handle.seek(offset)
            return b" running." in handle.read()

    try:
        cluster.wait_until(running, what="start")
    except BaseException:
        cluster.stop()
        raise
