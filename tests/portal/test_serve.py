"""`serve`: SIGTERM (or SIGINT) stops runserver and the qcluster with it, leaving no process behind; the
demo connections follow the address it serves on."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError

from integrations.models import Connection
from portal import demo
from portal.management.commands.serve import serve_base_url

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_serve_and_all_its_children(stop):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONUNBUFFERED": "1",
    }
    port = _free_port()
    serve = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"], cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert serve.poll() is None and time.monotonic() < deadline, "serve did not come up"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/live/", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.5)
        children = _descendants(serve.pid)
        assert len(children) >= 2  # runserver and qcluster (and its workers)
        serve.send_signal(stop)
        assert serve.wait(timeout=40) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in children if _alive(pid)], "children left running"
    finally:
        for pid in _descendants(serve.pid) | {serve.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.mark.parametrize(
    "addrport, url",
    [
        ("8001", "http://127.0.0.1:8001"),
        ("0.0.0.0:8002", "http://127.0.0.1:8002"),
        ("192.168.1.5:8003", "http://192.168.1.5:8003"),
        ("[::1]:8004", "http://[::1]:8004"),
    ],
)
def test_serve_calls_itself_at_the_address_it_is_given(addrport, url):
    assert serve_base_url(addrport=addrport) == url


def test_a_bad_address_is_a_message_not_a_traceback():
    with pytest.raises(CommandError, match="is not an address"):
        serve_base_url(addrport="localhost")


@pytest.mark.django_db
def test_the_demo_connections_follow_the_served_address_and_no_other():
    demo.demo_connections_ensure(base_url="http://127.0.0.1:8000")
    elsewhere = Connection.objects.get(name="Sage Pro (sandbox)")
    elsewhere.base_url = "https://sagepro.example.com/api"
    elsewhere.save()
    moved = demo.demo_connections_follow(base_url="http://127.0.0.1:8123")
    assert "Sage Pro (sandbox)" not in moved and len(moved) == len(demo.CONNECTIONS) - 1
    for connection in Connection.objects.exclude(pk=elsewhere.pk):
        assert connection.base_url.startswith("http://127.0.0.1:8123/sandbox/"), connection.name
        assert connection.credentials  # the demo credentials entered again for the new address
    assert Connection.objects.get(pk=elsewhere.pk).base_url == "https://sagepro.example.com/api"
    assert demo.demo_connections_follow(base_url="http://127.0.0.1:8123") == []


@pytest.mark.django_db
def test_rerunning_demo_connections_with_another_base_url_moves_every_connection():
    first = demo.demo_connections_ensure(base_url="http://127.0.0.1:8000")
    again = demo.demo_connections_ensure(base_url="http://127.0.0.1:8765")
    assert {s: c.pk for s, c in first.items()} == {s: c.pk for s, c in again.items()}
    for connection in Connection.objects.all():
        assert connection.base_url.startswith("http://127.0.0.1:8765/sandbox/"), connection.name
