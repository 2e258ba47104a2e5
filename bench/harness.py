"""What every benchmark here needs: a scratch PostgreSQL database and gunicorn servers on loopback that
are stopped, and the database dropped, whatever way the run ends."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
HOST = "127.0.0.1"
STARTUP_SECONDS = 60


def admin_execute(sql: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch_database(*, name: str) -> Iterator[str]:
    """A new, empty database `name` for the block; its URL is yielded and it is dropped on the way out."""
    # A leftover of a killed run that had our pid would otherwise make CREATE fail.
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_migrate(*, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
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


@contextmanager
def gunicorn_serve(
    *, name: str, wsgi: str, options: list[str], env: dict[str, str], log: Path
) -> Iterator[int]:
    """`gunicorn wsgi options` on a free loopback port, yielded once it answers; stopped on the way out."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", wsgi, "--bind", f"{HOST}:{port}",
        "--graceful-timeout", "5", "--no-control-socket", "--log-level", "warning", *options,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped as a whole, untouched by the terminal's Ctrl-C
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} server did not start; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        process_stop(process)
