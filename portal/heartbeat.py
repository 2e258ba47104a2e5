"""A heartbeat: a background thread that renews something (a claim's lease, a drain's hold) while the work
it guards goes on, and stops with that work or once there is nothing of ours left to renew."""

import threading
from collections.abc import Callable

from django.db import DatabaseError, connection


class Heartbeat:
    """Calls `beat` every `interval` seconds while the `with` block runs, until it returns False. A beat
    that fails on the database (a terminated connection) drops the connection and the next one opens a new
    one; the thread's connection is closed when it stops."""

    def __init__(self, *, interval: float, beat: Callable[[], bool], name: str):
        self.interval, self.beat = interval, beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.beat():
                        return
                except DatabaseError:
                    connection.close()
        finally:
            connection.close()
