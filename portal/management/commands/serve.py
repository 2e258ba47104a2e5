"""Serve the portal and a django-q2 cluster beside it; Ctrl-C (SIGINT) or SIGTERM stops both.

The demo's connections follow the address served: with the simulators on (SANDBOX), the demo connections
still pointing at this portal's simulators are moved to it before the children start."""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

CHILD_STOP_SECONDS = 15


class _StopRequest:
    """Ctrl-C (SIGINT) or SIGTERM, noted by the handler and acted on by the wait loop. The handler raises
    nothing: an exception raised at an arbitrary point can land inside `Popen.poll()` while it holds the
    process's wait lock, and the `wait()` that stops that child then blocks for ever."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum, frame) -> None:
        self.requested = True


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve_base_url(*, addrport: str) -> str:
    """The URL the portal calls itself at for `runserver`'s address: a port alone, or a host to listen on
    such as 0.0.0.0, is reached on the loopback."""
    host, _, port = addrport.rpartition(":")
    if not port.isdigit():
        raise CommandError(
            f"{addrport!r} is not an address: write a port (8001) or host:port (127.0.0.1:8001)"
        )
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::", "0"):  # noqa: S104 (read, not bound: these mean "every interface")
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class Command(BaseCommand):
    help = "Run the web portal (runserver) and a django-q2 cluster together until interrupted or terminated."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        base_url = serve_base_url(addrport=addrport)
        if settings.SANDBOX:
            from portal.demo import demo_connections_follow

            for name in demo_connections_follow(base_url=base_url):
                self.stdout.write(f"Demo connection {name} now at {base_url}.")
        manage = [sys.executable, "manage.py"]
        stop = _StopRequest()
        previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        processes = []
        try:
            processes.append(subprocess.Popen([*manage, "qcluster"]))  # noqa: S603 (our own interpreter and script)
            processes.append(subprocess.Popen([*manage, "runserver", addrport, "--noreload"]))  # noqa: S603
            self.stdout.write(
                self.style.SUCCESS(f"Portal at {base_url}/ (admin: /admin/). Ctrl-C or SIGTERM stops it.")
            )
            while not stop.requested and all(process.poll() is None for process in processes):
                time.sleep(0.5)
        finally:
            # A second signal while the children stop is noted and changes nothing: stopping is under way.
            _children_stop(processes)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        failed = [
            process.args[-1] for process in processes if process.returncode not in (0, -2, -15, 130, None)
        ]
        if failed:
            self.stderr.write(f"stopped: {', '.join(map(str, failed))} exited with an error")


def _children_stop(processes: list[subprocess.Popen]) -> None:
    """SIGINT first (both children stop cleanly on it: qcluster lets its workers finish their task), then
    a kill for one that does not stop in time."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=CHILD_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
