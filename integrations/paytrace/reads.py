"""Many PayTrace transaction re-reads at once, in a small bounded pool.

The drain re-reads every event's transaction before deciding anything; one after the other, a batch waits
on PayTrace's latency once per event. A few reads in flight hide that latency without hammering PayTrace:
PayTrace publishes no request rate, and answers an over-eager client with HTTP 429, which the client
raises as a transient error. The first 429 of a batch stops the reads not yet sent (they fail with the
same transient error and are retried with the inbox's backoff), so a throttled account is not pressed.

The pool's threads only talk HTTP (and, through the client, the token cache); every database write stays
with the caller, in its own thread."""

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from integrations.paytrace.client import Body, PayTraceClient
from integrations.paytrace.errors import PayTraceTransientError

# Small on purpose: enough to overlap a few round trips, far below anything that looks like a flood.
READ_WORKERS = 4
THROTTLED = 429

# A transaction id -> its export record, None when PayTrace does not know it, or the error the read raised.
ReadOutcome = Body | None | Exception


class _Throttle:
    def __init__(self) -> None:
        self._refused = threading.Event()
        self.error: PayTraceTransientError | None = None

    def refuse(self, error: PayTraceTransientError) -> None:
        self.error = error
        self._refused.set()

    def refused(self) -> bool:
        return self._refused.is_set()


def _read(*, client: PayTraceClient, transaction_id: str, throttle: _Throttle) -> ReadOutcome:
    if throttle.refused():
        return throttle.error
    try:
        return client.transaction_export_by_id(transaction_id=transaction_id)
    except PayTraceTransientError as exc:
        if exc.http_status == THROTTLED:
            throttle.refuse(exc)
        return exc
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, which records it per event
        return exc
    finally:
        # A cache or health write made in this pool thread opened a connection of its own.
        connection.close()


def paytrace_transactions_read(
    *, client: PayTraceClient, transaction_ids: Iterable[str], workers: int = READ_WORKERS
) -> dict[str, ReadOutcome]:
    """Re-read each distinct transaction id once, at most `workers` at a time."""
    distinct = list(dict.fromkeys(transaction_ids))
    if not distinct:
        return {}
    throttle = _Throttle()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
        futures = {
            transaction_id: pool.submit(
                _read, client=client, transaction_id=transaction_id, throttle=throttle
            )
            for transaction_id in distinct
        }
    return {transaction_id: future.result() for transaction_id, future in futures.items()}
