"""The drain's PayTrace re-reads: a bounded pool, and a 429 stops the reads not yet sent."""

import threading
import time

from integrations.paytrace.errors import PayTraceTransientError
from integrations.paytrace.reads import paytrace_transactions_read


class Recording:
    """A PayTrace client stand-in that counts calls and how many were in flight at once."""

    def __init__(self, *, refuse: set[str] = frozenset(), missing: set[str] = frozenset()):
        self.refuse, self.missing = refuse, missing
        self.calls: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def transaction_export_by_id(self, *, transaction_id: str):
        with self._lock:
            self.calls.append(transaction_id)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.02)
            if transaction_id in self.refuse:
                raise PayTraceTransientError(
                    "PayTrace answered HTTP 429", maybe_applied=False, http_status=429
                )
            return None if transaction_id in self.missing else {"transaction_id": transaction_id}
        finally:
            with self._lock:
                self.in_flight -= 1


def test_each_id_is_read_once_with_a_few_in_flight():
    client = Recording(missing={"3"})
    ids = [str(n) for n in range(20)] + ["1", "2"]
    reads = paytrace_transactions_read(client=client, transaction_ids=ids, workers=4)
    assert sorted(client.calls, key=int) == [str(n) for n in range(20)]
    assert 1 < client.most_in_flight <= 4
    assert reads["1"] == {"transaction_id": "1"} and reads["3"] is None


def test_a_429_stops_the_reads_not_yet_sent_and_each_gets_the_transient_error():
    client = Recording(refuse={"0"})
    reads = paytrace_transactions_read(client=client, transaction_ids=["0", "1", "2", "3"], workers=1)
    assert client.calls == ["0"]
    assert all(isinstance(reads[n], PayTraceTransientError) for n in "0123")
    assert reads["3"].http_status == 429
