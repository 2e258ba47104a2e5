"""Session-wide capture of everything written to the database and to the logs, for the PCI scan.

Every database connection (the test thread's and the live server's) gets an execute wrapper that keeps
the parameters of INSERT and UPDATE statements. Every log handler, whoever configured it (Django's
settings, a library, pytest), has what it emits kept: `logging.Handler.handle` is wrapped, so a record is
kept after the handler's own filters ran, as it is written. `tests/test_pci_scan.py` runs last and scans
both, plus a pg_dump of the test database.
"""

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.signals import connection_created

WRITTEN_VALUES: list[str] = []
LOG_LINES: list[str] = []
_lock = threading.Lock()
_handle = logging.Handler.handle
_suspended = threading.local()


def _flatten(params: Any) -> list[str]:
    if params is None:
        return []
    if isinstance(params, dict):
        params = list(params.values())
    if isinstance(params, list | tuple):
        out = []
        for item in params:
            out.extend(_flatten(item))
        return out
    if hasattr(params, "obj"):
        # A JSONField's value reaches psycopg as a Jsonb wrapper, whose str() cuts the content short.
        return [json.dumps(params.obj, default=str)]
    return [str(params)]


@contextmanager
def writes_not_captured() -> Iterator[None]:
    """For a test's set-up that writes what the portal itself never would (a row as it was stored before a
    fix, to prove the fix cleans it): the scan judges what the portal writes, not that set-up."""
    _suspended.active = True
    try:
        yield
    finally:
        _suspended.active = False


def _capture_writes(execute, sql, params, many, context):
    if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE") and not getattr(_suspended, "active", False):
        values = _flatten(params)
        with _lock:
            WRITTEN_VALUES.extend(values)
    return execute(sql, params, many, context)


def _on_connection_created(sender, connection, **kwargs) -> None:
    if _capture_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_capture_writes)


def _handle_captured(self: logging.Handler, record: logging.LogRecord) -> bool:
    emitted = _handle(self, record)
    if emitted:
        text = record.getMessage()
        if record.exc_info:
            text += record.exc_text or logging.Formatter().formatException(record.exc_info)
        with _lock:
            LOG_LINES.append(text + (record.stack_info or ""))
    return emitted


def install() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="pci-capture")
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        _on_connection_created(None, connection)
    logging.Handler.handle = _handle_captured
