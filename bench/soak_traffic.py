"""The soak's load: payments made through the PayTrace simulator's HTTP API, and PayTrace's webhooks about
them delivered the way a real sender does it (late, out of order, some twice, some never, again after an
error).

Every loop is bounded: the traffic by its transaction count and a deadline, each delivery by a timeout and
a number of tries, the sender's closing by a deadline."""

import heapq
import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

DELIVERY_TIMEOUT_SECONDS = 15
DELIVERY_TRIES = 6  # PayTrace tries again after an error; a delivery failing this often is given up
RETRY_AFTER_SECONDS = 2.0
DECLINE_AMOUNTS = (Decimal("0.29"), Decimal("1.12"))  # the sandbox declines these, as PayTrace's does
CENT = Decimal("0.01")


@dataclass
class DeliveryStats:
    events: int = 0
    deliveries: int = 0
    late: int = 0
    out_of_order: int = 0
    duplicates_concurrent: int = 0
    duplicates_later: int = 0
    redelivered: int = 0
    undelivered: int = 0
    answers: Counter = field(default_factory=Counter)


@dataclass(order=True)
class _Delivery:
    due: float
    number: int
    event_id: str = field(compare=False)
    body: bytes = field(compare=False)
    chain: str = field(compare=False)
    sequence: int = field(compare=False)
    copies: int = field(compare=False, default=1)  # 2: the same event twice at the same instant
    tries: int = field(compare=False, default=0)


@dataclass(frozen=True)
class DeliveryPlan:
    """Shares of the events delivered late (after `late_seconds`, so often after a later event about the
    same sale) and twice (half of those at the same instant, half later)."""

    late_share: float = 0.10
    late_seconds: tuple[float, float] = (3.0, 15.0)
    duplicate_share: float = 0.20


class WebhookSender:
    """PayTrace's webhook sender: signed at send time, each event at its own due time, from a pool of
    threads; an answer other than 2xx (or none) is tried again a little later, as PayTrace does."""

    def __init__(
        self,
        *,
        url: str,
        sign: Callable[[bytes], dict[str, str]],
        rng: random.Random,
        plan: DeliveryPlan,
        threads: int = 6,
    ):
        self.url, self.sign, self.rng, self.plan = url, sign, rng, plan
        self.stats = DeliveryStats()
        self._heap: list[_Delivery] = []
        self._numbers = itertools.count()
        self._lock = threading.Condition()
        self._open = 0  # deliveries queued or in flight
        self._delivered_up_to: dict[str, int] = {}
        self._closing = False
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook")
        self._dispatcher = threading.Thread(target=self._dispatch, name="webhook-dispatch", daemon=True)
        self._dispatcher.start()

    # --- announcing ----------------------------------------------------------------------------

    def announce(self, *, event_type: str, data: dict[str, Any], chain: str, plain: bool = False) -> None:
        """Deliver one event about `chain` (the sale it is about); `plain`: at once, once, on time."""
        event_id = f"evt_{uuid.uuid4().hex}"
        body = json.dumps(
            {"id": event_id, "type": event_type, "created": int(time.time()), "data": data}
        ).encode()
        now = time.monotonic()
        due = now + (0 if plain else self.rng.uniform(0, 0.5))
        rng, plan = self.rng, self.plan
        with self._lock:
            self.stats.events += 1
            sequence = next(self._numbers)
            if not plain and rng.random() < plan.late_share:
                self.stats.late += 1
                due = now + rng.uniform(*plan.late_seconds)
            copies = 1
            if not plain and rng.random() < plan.duplicate_share:
                if rng.random() < 0.5:
                    copies = 2
                    self.stats.duplicates_concurrent += 1
                else:
                    self.stats.duplicates_later += 1
                    later = due + rng.uniform(1.0, plan.late_seconds[1])
                    self._push(_Delivery(later, next(self._numbers), event_id, body, chain, sequence))
            self._push(_Delivery(due, next(self._numbers), event_id, body, chain, sequence, copies))

    def _push(self, delivery: _Delivery) -> None:
        heapq.heappush(self._heap, delivery)
        self._open += 1
        self._lock.notify_all()

    # --- delivering ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                while not self._heap or self._heap[0].due > time.monotonic():
                    if self._closing and not self._heap:
                        return
                    wait = self._heap[0].due - time.monotonic() if self._heap else 0.5
                    self._lock.wait(timeout=max(0.01, min(wait, 0.5)))
                delivery = heapq.heappop(self._heap)
            self._pool.submit(self._deliver, delivery)

    def _post(self, body: bytes) -> int:
        try:
            answer = requests.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json", **self.sign(body)},
                timeout=DELIVERY_TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            return 0
        return answer.status_code

    def _deliver(self, delivery: _Delivery) -> None:
        if delivery.copies == 2:
            # Both copies leave together, each from its own thread, as two PayTrace senders would.
            barrier, statuses = threading.Barrier(2), [0, 0]

            def send(index: int) -> None:
                barrier.wait(timeout=5)
                statuses[index] = self._post(delivery.body)

            senders = [threading.Thread(target=send, args=(index,)) for index in (0, 1)]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
        else:
            statuses = [self._post(delivery.body)]
        with self._lock:
            self.stats.deliveries += len(statuses)
            self.stats.answers.update(statuses)
            if any(200 <= status < 300 for status in statuses):
                delivered = self._delivered_up_to.get(delivery.chain, -1)
                if delivered > delivery.sequence:
                    self.stats.out_of_order += 1
                self._delivered_up_to[delivery.chain] = max(delivered, delivery.sequence)
            elif delivery.tries + 1 < DELIVERY_TRIES:
                self.stats.redelivered += 1
                again = _Delivery(
                    time.monotonic() + RETRY_AFTER_SECONDS,
                    next(self._numbers),
                    delivery.event_id,
                    delivery.body,
                    delivery.chain,
                    delivery.sequence,
                    tries=delivery.tries + 1,
                )
                self._push(again)
            else:
                self.stats.undelivered += 1
            self._open -= 1
            self._lock.notify_all()

    def close(self, *, deadline: float) -> int:
        """Wait for every delivery (retries included) until `deadline`; returns how many were left."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            while self._open and time.monotonic() < deadline:
                self._lock.wait(timeout=0.5)
            left = self._open
            self._heap.clear()
            self._lock.notify_all()
        self._dispatcher.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        return left


# --- the payments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficPlan:
    """Per round: `round_sales` sale attempts (a share declined, a share never announced); voids of sales
    still pending settlement (as many as `void_share` of the round's), picked among all of them, so a void
    comes from seconds to `settle_rounds` rounds after its sale; a settlement every `settle_rounds` rounds;
    refunds of settled sales (`refund_share` of the sales, half in full, half in part)."""

    round_sales: int = 40
    unannounced_share: float = 0.05
    decline_share: float = 0.04
    void_share: float = 0.08
    refund_share: float = 0.15
    settle_rounds: int = 8
    amounts: tuple[Decimal, Decimal] = (Decimal("5.00"), Decimal("250.00"))


@dataclass
class TrafficStats:
    sales: int = 0
    declined: int = 0
    voids: int = 0
    refunds_full: int = 0
    refunds_partial: int = 0
    settlements: int = 0
    unannounced: int = 0
    failed_calls: Counter = field(default_factory=Counter)
    approved_ids: list[str] = field(default_factory=list)  # the approved sales, in the order made

    @property
    def created(self) -> int:
        """PayTrace transactions made (sales approved or declined, refunds); a void makes none."""
        return self.sales + self.declined + self.refunds_full + self.refunds_partial


@dataclass
class _Sale:
    transaction_id: str
    customer: str
    remaining: Decimal
    settled: bool = False


class PayTraceTraffic:
    """Payments across the demo's vault customers through the portal's own PayTrace client; each call the
    simulator answers is announced by webhook (but for the sales PayTrace never announces). A call that
    fails (a killed web worker, a terminated database connection) is counted and not announced: PayTrace
    may hold it anyway, and only the sync will find it."""

    def __init__(
        self,
        *,
        client,
        sender: WebhookSender,
        customers: list[str],
        rng: random.Random,
        plan: TrafficPlan,
    ):
        self.client, self.sender, self.customers, self.rng, self.plan = client, sender, customers, rng, plan
        self.stats = TrafficStats()
        self._open: list[_Sale] = []  # approved, not voided, with something left to refund
        self._deadline = float("inf")

    @property
    def _late(self) -> bool:
        return time.monotonic() >= self._deadline

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from integrations.paytrace.errors import PayTraceDeclined, PayTraceError

        try:
            return call()
        except PayTraceDeclined:
            raise
        except PayTraceError as error:
            self.stats.failed_calls[f"{what}: {type(error).__name__}"] += 1
            return None

    def _announce(
        self, *, event_type: str, transaction_id: str, chain: str, amount: Decimal, plain: bool = False
    ) -> None:
        data = {"transactionId": int(transaction_id), "amount": str(amount)}
        self.sender.announce(event_type=event_type, data=data, chain=chain, plain=plain)

    def _declined(self, declined, *, chain: str | None, amount: Decimal) -> None:
        """A declined payment is a PayTrace transaction too, and announced as such."""
        self.stats.declined += 1
        transaction_id = declined.result.transaction_id
        if transaction_id:
            self._announce(
                event_type="transaction.declined",
                transaction_id=transaction_id,
                chain=chain or transaction_id,
                amount=amount,
            )

    def sale(
        self, *, customer: str, amount: Decimal, announce: bool = True, plain: bool = False
    ) -> str | None:
        """One sale from the customer's vaulted card; its id when approved. `plain`: announced at once,
        once (the latency probe)."""
        from integrations.paytrace.errors import PayTraceDeclined
        from integrations.paytrace.types import VaultCustomer

        try:
            result = self._call(
                "sale", lambda: self.client.sale(amount=amount, source=VaultCustomer(customer))
            )
        except PayTraceDeclined as declined:
            self._declined(declined, chain=None, amount=amount)
            return None
        if result is None:
            return None
        self.stats.sales += 1
        self.stats.approved_ids.append(result.transaction_id)
        if announce:
            self._announce(
                event_type="transaction.success",
                transaction_id=result.transaction_id,
                chain=result.transaction_id,
                amount=amount,
                plain=plain,
            )
        else:
            self.stats.unannounced += 1
        return result.transaction_id

    def _amount(self) -> Decimal:
        if self.rng.random() < self.plan.decline_share:
            return self.rng.choice(DECLINE_AMOUNTS)
        low, high = self.plan.amounts
        return (low + (high - low) * Decimal(self.rng.random())).quantize(CENT)

    def _round_sales(self, count: int, progress: Callable[[int], None]) -> list[_Sale]:
        made = []
        for _ in range(count):
            if self._late:
                break
            customer, amount = self.rng.choice(self.customers), self._amount()
            announce = self.rng.random() >= self.plan.unannounced_share
            transaction_id = self.sale(customer=customer, amount=amount, announce=announce)
            if transaction_id:
                made.append(_Sale(transaction_id, customer, amount))
            progress(self.stats.created)
        return made

    def _voids(self, count: int) -> None:
        for _ in range(count):
            pending = [sale for sale in self._open if not sale.settled]
            if self._late or not pending:
                return
            sale = self.rng.choice(pending)
            self._open.remove(sale)  # a void that failed may have happened all the same: never refunded
            if self._call("void", lambda sale=sale: self.client.void(transaction_id=sale.transaction_id)):
                self.stats.voids += 1
                self._announce(
                    event_type="transaction.void",
                    transaction_id=sale.transaction_id,
                    chain=sale.transaction_id,
                    amount=sale.remaining,
                )

    def _settle(self) -> None:
        settled = self._call("settle", self.client.settle)
        if settled is None or settled.batch_number is None:
            return
        self.stats.settlements += 1
        for sale in self._open:
            sale.settled = True
        self.sender.announce(
            event_type="batch.settled", data={"batchNumber": settled.batch_number}, chain="batches"
        )

    def _refunds(self, count: int, progress: Callable[[int], None]) -> int:
        """Up to `count` refunds of settled sales; how many were tried."""
        from integrations.paytrace.errors import PayTraceDeclined

        tried = 0
        for _ in range(count):
            candidates = [sale for sale in self._open if sale.settled and sale.remaining > 0]
            if self._late or not candidates:
                break
            tried += 1
            sale = self.rng.choice(candidates)
            full = self.rng.random() < 0.5
            share = Decimal(self.rng.uniform(0.1, 0.6))
            amount = sale.remaining if full else max(CENT, (sale.remaining * share).quantize(CENT))
            try:
                result = self._call(
                    "refund",
                    lambda sale=sale, amount=amount, full=full: self.client.refund_for_transaction(
                        transaction_id=sale.transaction_id, amount=None if full else amount
                    ),
                )
            except PayTraceDeclined as declined:  # more than is left: an earlier failed call went through
                self._declined(declined, chain=sale.transaction_id, amount=amount)
                result = None
            sale.remaining -= amount  # also when the call failed: it may have happened
            progress(self.stats.created)
            if result is None:
                continue
            if full:
                self.stats.refunds_full += 1
            else:
                self.stats.refunds_partial += 1
            self._announce(
                event_type="transaction.refund",
                transaction_id=result.transaction_id,
                chain=sale.transaction_id,
                amount=amount,
            )
        self._open = [sale for sale in self._open if sale.remaining > 0]
        return tried

    def _share(self, count: int, share: float) -> int:
        """`count` x `share`, rounded up or down at random so that it adds up over many rounds."""
        return int(count * share + self.rng.random())

    def run(self, *, transactions: int, deadline: float, progress: Callable[[int], None]) -> None:
        """Rounds until `transactions` PayTrace transactions are made or `deadline` (monotonic) passes."""
        plan, self._deadline = self.plan, deadline
        refunds_owed = 0.0
        for number in range(1, transactions + 1):  # each round tries at least one sale
            if self.stats.created >= transactions or self._late:
                return
            left = transactions - self.stats.created
            made = self._round_sales(
                max(1, min(plan.round_sales, round(left / (1 + plan.refund_share)))), progress
            )
            self._open += made
            self._voids(self._share(len(made), plan.void_share))
            if number % plan.settle_rounds == 0:
                self._settle()
            refunds_owed += len(made) * plan.refund_share
            refunds = min(transactions - self.stats.created, int(refunds_owed))
            refunds_owed -= self._refunds(refunds, progress)
