"""What is known about a transaction at the moment it happened, as plain numbers and flags.

Everything is computed by one pass over a time-ordered history (`features_stream`). Training streams the
whole history from one query; scoring one new transaction fetches only the rows that can change its
features (same customer, card or IP inside the windows, the customer's last sales, earlier refunds of the
same sale) and streams those, so both paths give the same answer by construction."""

import operator
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import reduce
from statistics import median
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import Lower, RowNumber

from payments.models import ZERO, Transaction

Status = Transaction.Status
PAYMENT_TYPES, REFUND_TYPES = Transaction.PAYMENT_TYPES, Transaction.REFUND_TYPES
# No money moved for these, so they say nothing about what a customer normally pays.
UNSUCCESSFUL = frozenset({Status.DECLINED, Status.VOIDED})

ROW_FIELDS = (
    "pk",
    "occurred_at",
    "transaction_type",
    "status",
    "amount",
    "currency",
    "customer_id",
    "email",
    "card_brand",
    "last4",
    "ip_address",
    "avs_response",
    "csc_response",
    "billing_country",
    "original_id",
    "original__amount",
    "original__occurred_at",
)

# Where each currency is at home; a billing country outside its currency's list is a signal. Currencies
# not listed give no signal either way.
CURRENCY_COUNTRIES: dict[str, frozenset[str]] = {
    currency: frozenset(countries.split())
    for currency, countries in {
        "USD": "US PR GU VI AS MP UM EC SV PA TL FM MH PW BQ TC VG",
        "CAD": "CA",
        "EUR": "AT BE HR CY EE FI FR DE GR IE IT LV LT LU MT NL PT SK SI ES AD MC SM VA ME XK GP MQ GF RE "
        "YT PM BL MF AX",
        "GBP": "GB IM JE GG",
        "AUD": "AU CX CC NF KI NR TV",
        "NZD": "NZ CK NU PN TK",
        "CHF": "CH LI",
        "JPY": "JP",
        "MXN": "MX",
    }.items()
}


@dataclass(frozen=True)
class FeatureSettings:
    """The windows features are counted in; they come from the risk policy's rules."""

    customer_minutes: int = 60
    card_minutes: int = 60
    ip_minutes: int = 60
    card_testing_minutes: int = 10
    small_amount: Decimal = Decimal("5.00")
    history_size: int = 50
    currency_countries: Mapping[str, frozenset[str]] = field(default_factory=lambda: CURRENCY_COUNTRIES)

    @property
    def longest_minutes(self) -> int:
        return max(self.customer_minutes, self.card_minutes, self.ip_minutes, self.card_testing_minutes)


@dataclass(frozen=True)
class TransactionFeatures:
    amount: Decimal
    currency: str
    billing_country: str
    ip_address: str
    card: str  # brand and last four only
    is_refund: bool
    is_declined: bool
    customer_sales: int  # earlier successful payments of the customer, at most history_size
    customer_median: Decimal | None
    customer_count: int  # transactions of the customer in its window, this one included (0: no customer)
    card_count: int
    ip_count: int
    small_declines: int  # small declines from this IP or card in the card-testing window, this one included
    avs_mismatch: bool
    csc_mismatch: bool
    refund_has_sale: bool
    refund_ratio: Decimal | None  # this refund plus earlier ones of the same sale, over the sale's amount
    refund_minutes_after_sale: float | None
    country_mismatch: bool


def _no_match(text: str) -> bool:
    # PayTrace answers in words ("No Match", "Zip Match Only", "Full Exact Match"), sometimes padded.
    return "no match" in " ".join(text.lower().split())


def _keys(row: Mapping[str, Any]) -> dict[str, str | None]:
    email = (row["email"] or "").lower()
    return {
        "customer": f"c{row['customer_id']}" if row["customer_id"] else (f"e{email}" if email else None),
        "card": f"{row['card_brand']} {row['last4']}".strip() if row["last4"] else None,
        "ip": row["ip_address"] or None,
    }


def _window_count(times: deque, *, now: datetime, minutes: int) -> int:
    cutoff = now - timedelta(minutes=minutes)
    while times and times[0] < cutoff:
        times.popleft()
    return len(times)


class _History:
    """What the stream has seen so far, pruned to the windows as it goes."""

    def __init__(self, settings: FeatureSettings):
        self.settings = settings
        self.recent: dict[tuple[str, str], deque] = defaultdict(deque)
        self.small_declines: dict[tuple[str, str], deque] = defaultdict(deque)
        self.sales: dict[str, deque] = defaultdict(lambda: deque(maxlen=settings.history_size))
        self.refunded: dict[int, Decimal] = defaultdict(lambda: ZERO)

    def observe(self, row: Mapping[str, Any]) -> TransactionFeatures:
        s, now, amount = self.settings, row["occurred_at"], row["amount"]
        keys = _keys(row)
        is_declined = row["status"] == Status.DECLINED
        small_decline = is_declined and amount <= s.small_amount
        minutes = {"customer": s.customer_minutes, "card": s.card_minutes, "ip": s.ip_minutes}
        counts = {
            kind: (_window_count(self.recent[(kind, key)], now=now, minutes=minutes[kind]) + 1 if key else 0)
            for kind, key in keys.items()
        }
        recent_declines = (self.small_declines[(kind, keys[kind])] for kind in ("card", "ip") if keys[kind])
        declines = max(
            (_window_count(times, now=now, minutes=s.card_testing_minutes) for times in recent_declines),
            default=0,
        ) + int(small_decline)
        sales = self.sales[keys["customer"]] if keys["customer"] else ()
        features = TransactionFeatures(
            amount=amount,
            currency=row["currency"],
            billing_country=row["billing_country"],
            ip_address=row["ip_address"] or "",
            card=keys["card"] or "",
            is_refund=row["transaction_type"] in REFUND_TYPES,
            is_declined=is_declined,
            customer_sales=len(sales),
            customer_median=Decimal(median(sales)) if sales else None,
            customer_count=counts["customer"],
            card_count=counts["card"],
            ip_count=counts["ip"],
            small_declines=declines,
            avs_mismatch=_no_match(row["avs_response"]),
            csc_mismatch=_no_match(row["csc_response"]),
            **self._refund_features(row),
            country_mismatch=self._country_mismatch(row),
        )
        self._remember(row=row, keys=keys, small_decline=small_decline)
        return features

    def _refund_features(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if row["transaction_type"] not in REFUND_TYPES or not row["original_id"]:
            return {"refund_has_sale": False, "refund_ratio": None, "refund_minutes_after_sale": None}
        sale_amount = row["original__amount"]
        total = self.refunded[row["original_id"]] + row["amount"]
        after = row["occurred_at"] - row["original__occurred_at"]
        return {
            "refund_has_sale": True,
            "refund_ratio": total / sale_amount if sale_amount else None,
            "refund_minutes_after_sale": after.total_seconds() / 60,
        }

    def _country_mismatch(self, row: Mapping[str, Any]) -> bool:
        home = self.settings.currency_countries.get(row["currency"])
        return bool(home and row["billing_country"] and row["billing_country"] not in home)

    def _remember(self, *, row: Mapping[str, Any], keys: dict[str, str | None], small_decline: bool) -> None:
        for kind, key in keys.items():
            if key:
                self.recent[(kind, key)].append(row["occurred_at"])
                if small_decline and kind in ("card", "ip"):
                    self.small_declines[(kind, key)].append(row["occurred_at"])
        succeeded = row["status"] not in UNSUCCESSFUL
        if succeeded and keys["customer"] and row["transaction_type"] in PAYMENT_TYPES:
            self.sales[keys["customer"]].append(row["amount"])
        if succeeded and row["original_id"] and row["transaction_type"] in REFUND_TYPES:
            self.refunded[row["original_id"]] += row["amount"]


def features_stream(
    rows: Iterable[Mapping[str, Any]], *, settings: FeatureSettings
) -> Iterator[tuple[int, TransactionFeatures]]:
    """(pk, features) for each row; `rows` must come in (occurred_at, pk) order."""
    history = _History(settings)
    for row in rows:
        yield row["pk"], history.observe(row)


def queryset_features(
    queryset: QuerySet[Transaction], *, settings: FeatureSettings, chunk_size: int = 5000
) -> Iterator[tuple[int, TransactionFeatures]]:
    """Features of every transaction in `queryset` from one streamed query (training, benchmarks)."""
    rows = queryset.order_by("occurred_at", "pk").values(*ROW_FIELDS).iterator(chunk_size=chunk_size)
    return features_stream(rows, settings=settings)


def _row_of(transaction: Transaction) -> dict[str, Any]:
    return {
        "customer_id": transaction.customer_id,
        "email": transaction.email,
        "card_brand": transaction.card_brand,
        "last4": transaction.last4,
        "ip_address": transaction.ip_address,
    }


def transaction_features(*, transaction: Transaction, settings: FeatureSettings) -> TransactionFeatures:
    """Features of one transaction from the few rows that can affect them (at most three queries)."""
    at = transaction.occurred_at
    before = Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=transaction.pk)
    earlier = Transaction.objects.filter(before)
    keys = _keys(_row_of(transaction))
    same_customer = _same_customer(transaction)
    related = [
        condition
        for key, condition in (
            ("customer", same_customer),
            ("card", Q(card_brand=transaction.card_brand, last4=transaction.last4)),
            ("ip", Q(ip_address=transaction.ip_address)),
        )
        if keys[key]
    ]
    window = Q(pk=transaction.pk)
    if related:
        since = at - timedelta(minutes=settings.longest_minutes)
        window |= before & reduce(operator.or_, related) & Q(occurred_at__gte=since)
    querysets = [Transaction.objects.filter(window)]
    if keys["customer"]:
        querysets.append(
            earlier.filter(same_customer, transaction_type__in=PAYMENT_TYPES)
            .exclude(status__in=UNSUCCESSFUL)
            .order_by("-occurred_at", "-pk")[: settings.history_size]
        )
    if transaction.original_id and transaction.transaction_type in REFUND_TYPES:
        refunds = earlier.filter(original_id=transaction.original_id, transaction_type__in=REFUND_TYPES)
        querysets.append(refunds)
    rows = {found["pk"]: found for queryset in querysets for found in queryset.values(*ROW_FIELDS)}
    ordered = sorted(rows.values(), key=lambda found: (found["occurred_at"], found["pk"]))
    *_, (_, features) = features_stream(ordered, settings=settings)
    return features


def _same_customer(transaction: Transaction) -> Q:
    if transaction.customer_id:
        return Q(customer_id=transaction.customer_id)
    return Q(customer__isnull=True, email__iexact=transaction.email)


def _any(conditions: Iterable[Q]) -> Q | None:
    conditions = list(conditions)
    return reduce(operator.or_, conditions) if conditions else None


def transactions_features(
    *, transactions: list[Transaction], settings: FeatureSettings
) -> dict[int, TransactionFeatures]:
    """Features of a batch of transactions, by pk, from at most three queries whatever the batch's size:
    the rows in reach of the windows of every customer, card and IP the batch names; each customer's last
    `history_size` sales before the batch; earlier refunds of the sales the batch refunds. One stream over
    their union answers each transaction as `transaction_features` does: a transaction's features depend
    only on the rows of its own keys before it, and every one of those in reach is in the union (rows of
    other keys, or after it, change nothing of it)."""
    if not transactions:
        return {}
    first = min(transaction.occurred_at for transaction in transactions)
    last = max(transaction.occurred_at for transaction in transactions)
    customer = _any(_same_customer(t) for t in transactions if _keys(_row_of(t))["customer"])
    card = _any(
        Q(card_brand=brand, last4=last4)
        for brand, last4 in {(t.card_brand, t.last4) for t in transactions if t.last4}
    )
    ips = {t.ip_address for t in transactions if t.ip_address}
    related = _any(q for q in (customer, card, Q(ip_address__in=ips) if ips else None) if q is not None)
    window = Q(pk__in=[t.pk for t in transactions])
    if related is not None:
        since = first - timedelta(minutes=settings.longest_minutes)
        window |= related & Q(occurred_at__gte=since, occurred_at__lte=last)
    querysets = [Transaction.objects.filter(window)]
    if customer is not None:
        # The window holds every sale from the batch's first moment on; before it, the newest few per
        # customer (partitioned by id and email: finer than the customer key, so never fewer rows).
        querysets.append(
            Transaction.objects.filter(customer, transaction_type__in=PAYMENT_TYPES, occurred_at__lt=first)
            .exclude(status__in=UNSUCCESSFUL)
            .annotate(
                newest=Window(
                    RowNumber(),
                    partition_by=[F("customer_id"), Lower("email")],
                    order_by=[F("occurred_at").desc(), F("pk").desc()],
                )
            )
            .filter(newest__lte=settings.history_size)
        )
    sales = {t.original_id for t in transactions if t.original_id and t.transaction_type in REFUND_TYPES}
    if sales:
        querysets.append(Transaction.objects.filter(original_id__in=sales, transaction_type__in=REFUND_TYPES))
    rows = {found["pk"]: found for queryset in querysets for found in queryset.values(*ROW_FIELDS)}
    ordered = sorted(rows.values(), key=lambda found: (found["occurred_at"], found["pk"]))
    wanted = {transaction.pk for transaction in transactions}
    return {pk: features for pk, features in features_stream(ordered, settings=settings) if pk in wanted}
