"""Risk scoring evaluation: precision and recall on a labelled synthetic history with planted fraud.

    .venv/bin/python bench/risk_eval.py [--customers 1500] [--train-days 90] [--eval-days 30] [--seed 7]

In its own scratch PostgreSQL database (created, migrated, dropped whatever happens), it generates a
merchant's history: customers paying amounts typical of each of them from their own card and usual IP,
with the noise real traffic has (ordinary declines, partial refunds days later, a quick full refund now
and then, B2B customers whose first order is large, cross-border customers, AVS or CSC mismatches on
their own, shared office IPs). Among it, planted and labelled: card-testing bursts, velocity spikes on a
stolen card, amount outliers on a taken-over account, AVS + CSC mismatches, refund abuse (a refund larger
than its sale minutes after it, or an unlinked refund) and billing countries that do not fit the currency.

The anomaly model is trained (`risk_model_train`, as `train_risk_model` does) on the training period
only; then the evaluation period is inserted and every one of its transactions is scored by the service
the pipeline calls (`transaction_risk_assess`), in time order. Printed: precision, recall and false
positive rate overall at the policy's threshold, for the rules alone and with the model; recall per
pattern; the precision of each pattern's rules (flagged rows whose strongest reason is one of them); and
the scoring time per transaction.
"""

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the portal and bench.harness import from the checkout

from bench.harness import database_migrate, scratch_database  # noqa: E402

NORMAL = "normal"
# Which rules speak for which planted pattern (for the per-pattern precision of the rules).
PATTERN_RULES = {
    "card_testing": {"card_testing"},
    "velocity_spike": {"velocity_customer", "velocity_card", "velocity_ip"},
    "amount_outlier": {"amount_outlier"},
    "avs_csc_mismatch": {"avs_mismatch", "csc_mismatch"},
    "refund_abuse": {"refund_exceeds_sale", "refund_after_sale", "refund_without_sale"},
    "country_currency": {"country_currency", "new_customer_large"},
}
FRAUD_COUNTRIES = ("NG", "RU", "BR", "ID", "VN", "UA", "RO")
BRANDS = ("VISA", "VISA", "VISA", "MASTERCARD", "MASTERCARD", "AMEX", "DISCOVER")


def _environment(url: str) -> dict[str, str]:
    # DEBUG off: DEBUG keeps every query in memory. SANDBOX off: the simulators play no part here.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": url,
        "PAYSAGE_ENV": "dev",
        "SANDBOX": "0",
        "DEBUG": "0",
        "REDIS_URL": "",
    }


@dataclass
class Profile:
    customer_id: int
    base: float
    card: tuple[str, str]
    ip: str
    country: str
    currency: str
    per_month: float


class World:
    """Builds rows in memory; `flush` writes them in bulk and returns their labels by transaction id."""

    def __init__(self, *, connection, rng: random.Random):
        self.connection, self.rng = connection, rng
        self.rows: list = []
        self.refunds: list[tuple] = []  # (refund row, sale row or None)
        self.labels: dict[str, str] = {}
        self.serial = 0
        self.office_ips = [f"10.{n}.0.1" for n in range(40)]

    def _ip(self) -> str:
        r = self.rng
        return f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def _card(self) -> tuple[str, str]:
        return self.rng.choice(BRANDS), f"{self.rng.randint(0, 9999):04d}"

    def add(self, *, label: str = NORMAL, at: datetime, amount: float, **fields):
        from payments.models import Transaction

        self.serial += 1
        brand, last4 = fields.pop("card", None) or self._card()
        row = Transaction(
            connection=self.connection,
            transaction_id=f"R{self.serial:08d}",
            transaction_type=fields.pop("transaction_type", "sale"),
            status=fields.pop("status", "settled"),
            amount=Decimal(f"{max(amount, 0.5):.2f}"),
            currency=fields.pop("currency", "USD"),
            card_brand=brand,
            last4=last4,
            avs_response=fields.pop("avs", "Full Exact Match"),
            csc_response=fields.pop("csc", "Match"),
            occurred_at=at,
            **fields,
        )
        self.labels[row.transaction_id] = label
        self.rows.append(row)
        return row

    def refund(self, *, sale, label: str = NORMAL, at: datetime, amount: float, **fields):
        row = self.add(label=label, at=at, amount=amount, transaction_type="refund", **fields)
        self.rows.pop()
        self.refunds.append((row, sale))
        return row

    def flush(self) -> None:
        from payments.models import Transaction

        Transaction.objects.bulk_create(self.rows, batch_size=5000)
        for refund, sale in self.refunds:
            refund.original_id = sale.pk if sale is not None else None
        Transaction.objects.bulk_create([refund for refund, _ in self.refunds], batch_size=5000)
        self.rows, self.refunds = [], []


def customers_create(*, count: int, rng: random.Random, world: World) -> list[Profile]:
    from customers.models import Customer

    rows = Customer.objects.bulk_create(
        [Customer(name=f"Customer {n}", email=f"c{n}@example.com") for n in range(count)], batch_size=5000
    )
    profiles = []
    for customer in rows:
        kind = rng.random()
        # Most pay in USD from the US; some Canadians in CAD; some cross-border customers bill from Canada in
        # USD (legitimate, and what the country rule will call a mismatch).
        country, currency = ("US", "USD") if kind < 0.9 else (("CA", "CAD") if kind < 0.97 else ("CA", "USD"))
        b2b = rng.random() < 0.06
        profiles.append(
            Profile(
                customer_id=customer.pk,
                base=rng.lognormvariate(7.2, 0.5) if b2b else rng.lognormvariate(4.4, 0.7),
                card=world._card(),
                ip=rng.choice(world.office_ips) if rng.random() < 0.15 else world._ip(),
                country=country,
                currency=currency,
                per_month=rng.uniform(0.5, 8),
            )
        )
    return profiles


def normal_traffic(*, world: World, profiles: list[Profile], start: datetime, days: int) -> dict[int, list]:
    """Ordinary payments; returns each customer's sales (for the planted outliers and refunds)."""
    rng, sales = world.rng, defaultdict(list)
    for p in profiles:
        for _ in range(_poisson(rng, p.per_month * days / 30)):
            at = start + timedelta(seconds=rng.uniform(0, days * 86400))
            declined = rng.random() < 0.02
            row = world.add(
                at=at,
                amount=p.base * rng.lognormvariate(0, 0.35),
                customer_id=p.customer_id,
                card=p.card if rng.random() < 0.95 else world._card(),
                ip_address=p.ip if rng.random() < 0.8 else world._ip(),
                billing_country=p.country,
                currency=p.currency,
                status="declined" if declined else "settled",
                avs="No Match" if rng.random() < 0.03 else "Full Exact Match",
                csc="No Match" if rng.random() < 0.01 else "Match",
            )
            if declined:
                continue
            sales[p.customer_id].append(row)
            roll = rng.random()
            if roll < 0.03:  # a partial refund days later
                world.refund(
                    sale=row,
                    at=at + timedelta(days=rng.uniform(1, 20)),
                    amount=float(row.amount) * rng.uniform(0.1, 0.9),
                    customer_id=p.customer_id,
                    card=(row.card_brand, row.last4),
                    ip_address=p.ip,
                    billing_country=p.country,
                    currency=p.currency,
                )
            elif roll < 0.034:  # changed their mind: all of it back within the hour
                world.refund(
                    sale=row,
                    at=at + timedelta(minutes=rng.uniform(5, 55)),
                    amount=float(row.amount),
                    customer_id=p.customer_id,
                    card=(row.card_brand, row.last4),
                    ip_address=p.ip,
                    billing_country=p.country,
                    currency=p.currency,
                )
    return sales


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1)
    while total < mean:
        count += 1
        total += rng.expovariate(1)
    return count


def planted_fraud(
    *, world: World, profiles: list[Profile], sales: dict[int, list], start: datetime, days: int
) -> None:
    rng = world.rng
    scale = len(profiles) / 1500 * days / 30

    def moment() -> datetime:
        return start + timedelta(seconds=rng.uniform(0, days * 86400 - 3600))

    for _ in range(round(6 * scale)):  # card testing: many small attempts from one IP in minutes
        at, ip = moment(), world._ip()
        same_card = rng.random() < 0.3
        card = world._card()
        for _ in range(rng.randint(5, 12)):
            at += timedelta(seconds=rng.uniform(5, 40))
            world.add(
                label="card_testing",
                at=at,
                amount=rng.uniform(0.5, 4.99),
                card=card if same_card else None,
                ip_address=ip,
                status="declined" if rng.random() < 0.8 else "settled",
                avs=rng.choice(("No Match", "Full Exact Match")),
                csc=rng.choice(("No Match", "Match", "")),
            )
    for _ in range(round(6 * scale)):  # velocity spike: a stolen card spent fast
        at, ip, card, email = moment(), world._ip(), world._card(), f"spree{rng.randint(0, 10**9)}@mail.test"
        for _ in range(rng.randint(6, 10)):
            at += timedelta(minutes=rng.uniform(1, 6))
            world.add(
                label="velocity_spike",
                at=at,
                amount=rng.uniform(40, 400),
                card=card,
                ip_address=ip,
                email=email,
                billing_country="US",
            )
    established = [p for p in profiles if len(sales[p.customer_id]) >= 4]
    end = start + timedelta(days=days)
    for p in rng.sample(established, min(len(established), round(25 * scale))):  # taken-over account
        last = max(row.occurred_at for row in sales[p.customer_id])
        world.add(
            label="amount_outlier",
            at=min(last + timedelta(hours=rng.uniform(1, 48)), end),
            amount=p.base * rng.uniform(8, 25),
            customer_id=p.customer_id,
            ip_address=world._ip() if rng.random() < 0.7 else p.ip,
            billing_country=p.country,
            currency=p.currency,
        )
    for _ in range(round(25 * scale)):  # a stolen card number without its address or code
        world.add(
            label="avs_csc_mismatch",
            at=moment(),
            amount=rng.uniform(50, 600),
            ip_address=world._ip(),
            email=f"buyer{rng.randint(0, 10**9)}@mail.test",
            billing_country="US",
            avs="No Match",
            csc="No Match",
        )
    for n in range(round(20 * scale)):  # refund abuse: money out larger than in, minutes after it
        at, card, ip = moment(), world._card(), world._ip()
        amount = rng.uniform(20, 300)
        sale = world.add(at=at, amount=amount, card=card, ip_address=ip, billing_country="US")
        world.refund(
            sale=sale if n % 2 == 0 else None,
            label="refund_abuse",
            at=at + timedelta(minutes=rng.uniform(2, 30)),
            amount=amount * rng.uniform(1.3, 4),
            card=card if n % 2 == 0 else world._card(),
            ip_address=ip,
            billing_country="US",
        )
    for _ in range(round(20 * scale)):  # billing country far from the currency, a first and large order
        world.add(
            label="country_currency",
            at=moment(),
            amount=rng.uniform(300, 2500),
            ip_address=world._ip(),
            email=f"new{rng.randint(0, 10**9)}@mail.test",
            billing_country=rng.choice(FRAUD_COUNTRIES),
        )


@dataclass
class Figures:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0

    def count(self, *, fraud: bool, flagged: bool) -> None:
        if fraud:
            self.true_positive += flagged
            self.false_negative += not flagged
        else:
            self.false_positive += flagged
            self.true_negative += not flagged

    def line(self, name: str) -> str:
        tp, fp, fn, tn = self.true_positive, self.false_positive, self.false_negative, self.true_negative
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        fpr = fp / (fp + tn) if fp + tn else 0.0
        return (
            f"  {name:<16} precision {precision:6.1%}   recall {recall:6.1%}   F1 {f1:5.3f}   "
            f"false positives {fp} of {fp + tn} normal ({fpr:.2%})"
        )


def evaluate(*, labels: dict[str, str], since: datetime) -> None:
    from payments.models import RiskAssessment, Transaction
    from payments.risk.services import risk_policy_get, transaction_risk_assess

    threshold = risk_policy_get().flag_threshold
    evaluated = Transaction.objects.filter(occurred_at__gte=since).order_by("occurred_at", "pk")
    started = time.perf_counter()
    for txn in evaluated.iterator(chunk_size=2000):
        transaction_risk_assess(transaction=txn)
    seconds = time.perf_counter() - started
    total = evaluated.count()
    print(f"scored {total} transactions in {seconds:.1f} s ({seconds / max(total, 1) * 1000:.1f} ms each)")

    with_model, rules_only = Figures(), Figures()
    per_pattern: dict[str, Counter] = defaultdict(Counter)
    attributed: dict[str, Counter] = defaultdict(Counter)
    rows = RiskAssessment.objects.filter(transaction__occurred_at__gte=since).values_list(
        "transaction__transaction_id", "score", "reasons"
    )
    for transaction_id, score, reasons in rows.iterator(chunk_size=5000):
        label = labels[transaction_id]
        fraud = label != NORMAL
        model_points = sum(reason["points"] for reason in reasons if reason["code"] == "anomaly")
        flagged = score >= threshold
        with_model.count(fraud=fraud, flagged=flagged)
        rules_only.count(fraud=fraud, flagged=score - model_points >= threshold)
        per_pattern[label]["rows"] += 1
        per_pattern[label]["flagged"] += flagged
        per_pattern[label]["model_points"] += model_points
        if flagged and reasons:
            top = max(reasons, key=lambda reason: reason["points"])["code"]
            for pattern, codes in PATTERN_RULES.items():
                if top in codes:
                    attributed[pattern]["fraud" if fraud else "normal"] += 1

    print(f"\nthreshold {threshold} (RiskPolicy.flag_threshold)")
    print(rules_only.line("rules only"))
    print(with_model.line("rules + model"))
    print("\nper pattern (recall: its transactions flagged; rule precision: flagged rows whose strongest")
    print("reason is one of the pattern's rules that are fraud of any kind; model: mean anomaly points)")
    print(f"  {'pattern':<18}{'rows':>7}{'flagged':>9}{'recall':>9}{'rule precision':>17}{'model':>7}")
    for pattern in [*PATTERN_RULES, NORMAL]:
        counts = per_pattern[pattern]
        recall = counts["flagged"] / counts["rows"] if counts["rows"] else 0.0
        hits = attributed[pattern]
        precision = (
            hits["fraud"] / (hits["fraud"] + hits["normal"]) if hits["fraud"] + hits["normal"] else 0.0
        )
        shown = f"{precision:16.1%}" if pattern != NORMAL else f"{'(flag rate)':>16}"
        model = counts["model_points"] / counts["rows"] if counts["rows"] else 0.0
        print(f"  {pattern:<18}{counts['rows']:>7}{counts['flagged']:>9}{recall:>9.1%} {shown}{model:>7.1f}")


def run(args: argparse.Namespace, url: str) -> None:
    os.environ.update(_environment(url))
    import django

    django.setup()
    from django.utils import timezone

    from integrations.models import Connection
    from payments.risk.services import risk_model_train

    rng = random.Random(args.seed)
    now = timezone.now()
    connection = Connection.objects.create(
        name="PayTrace (bench)", system="paytrace", base_url="http://127.0.0.1/", credentials={}
    )
    world = World(connection=connection, rng=rng)
    profiles = customers_create(count=args.customers, rng=rng, world=world)
    periods = (
        ("training", now - timedelta(days=args.train_days + args.eval_days), args.train_days),
        ("evaluation", now - timedelta(days=args.eval_days), args.eval_days),
    )
    for name, start, days in periods:
        started = time.perf_counter()
        sales = normal_traffic(world=world, profiles=profiles, start=start, days=days)
        planted_fraud(world=world, profiles=profiles, sales=sales, start=start, days=days)
        inserted = len(world.rows) + len(world.refunds)
        world.flush()
        print(f"{name}: {inserted} transactions generated in {time.perf_counter() - started:.1f} s")
        if name == "training":
            started = time.perf_counter()
            version = risk_model_train(days=args.train_days + args.eval_days + 1, min_rows=100)
            share = version.metrics["anomalous_share"]
            print(
                f"trained {version.algorithm} {version.version} on {version.training_rows} transactions in "
                f"{time.perf_counter() - started:.1f} s (anomalous share {share:.1%})"
            )
    fraud = Counter(label for label in world.labels.values())
    print("labels (both periods):", ", ".join(f"{label} {count}" for label, count in sorted(fraud.items())))
    evaluate(labels=world.labels, since=now - timedelta(days=args.eval_days))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1500, help="customers in the history (default 1500)")
    parser.add_argument("--train-days", type=int, default=90, help="days of history the model learns from")
    parser.add_argument("--eval-days", type=int, default=30, help="days after that which are scored")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same history)")
    args = parser.parse_args()
    for name, limit in (("customers", 50_000), ("train_days", 730), ("eval_days", 180)):
        if not 1 <= getattr(args, name) <= limit:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and {limit}")
    with scratch_database(name=f"paysage_risk_{os.getpid()}") as url:
        database_migrate(env=_environment(url))
        run(args, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
