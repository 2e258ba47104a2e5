"""Folder set-up, demo seeding and the small write helpers every simulated X3 function shares."""

import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from simulators import demo_data
from simulators.counters import counter_increment
from simulators.x3.models import (
    X3Account,
    X3Counter,
    X3Customer,
    X3Folder,
    X3Invoice,
    X3Item,
    X3PayType,
    X3Stock,
)

DEMO_SITE = "WH1"

DEMO_ACCOUNTS = (
    ("411000", "Customers - receivables"),
    ("511000", "Card payments clearing"),
    ("512000", "Bank"),
    ("627000", "Bank and card fees"),
    ("658000", "Chargebacks"),
    ("658100", "Write-off"),
    ("706000", "Sales of services"),
    ("709000", "Refunds and rebates"),
)
DEMO_PAY_TYPES = (("CARD", "Card receipt", "CARD", "511000"), ("ACH", "ACH receipt", "BANK1", "512000"))


class X3Refusal(Exception):
    """A business rule refused the call: X3 answers status 0 with these error messages."""

    def __init__(self, *messages: str):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def password_digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def sandbox_x3_folder_ensure(*, folder: str, pool_alias: str, username: str, password: str) -> X3Folder:
    found, _ = X3Folder.objects.update_or_create(
        folder=folder,
        defaults={
            "pool_alias": pool_alias,
            "username": username,
            "password_digest": password_digest(password),
        },
    )
    return found


def sandbox_x3_seed(*, folder: str) -> X3Folder:
    """Demo customers, items with stock at WH1, GL accounts, payment types and open invoices from
    `demo_data`. Idempotent: existing rows keep whatever state tests gave them."""
    target = X3Folder.objects.get(folder=folder)
    today = timezone.now().date()
    with transaction.atomic():
        accounts = {
            accnum: X3Account.objects.get_or_create(folder=target, accnum=accnum, defaults={"des": des})[0]
            for accnum, des in DEMO_ACCOUNTS
        }
        for code, des, ban, accnum in DEMO_PAY_TYPES:
            X3PayType.objects.get_or_create(
                folder=target, paytyp=code, defaults={"des": des, "ban": ban, "account": accounts[accnum]}
            )
        customers = {}
        for demo in demo_data.CUSTOMERS:
            customers[demo.number] = X3Customer.objects.get_or_create(
                folder=target,
                bpcnum=demo.number,
                defaults={
                    "bpcnam": demo.name,
                    "cur": demo.currency,
                    "addlig1": demo.street,
                    "cty": demo.city,
                    "sat": demo.state,
                    "poscod": demo.postal_code,
                    "cry": demo.country,
                    "tel1": demo.phone,
                    "web1": demo.email,
                },
            )[0]
        for demo in demo_data.ITEMS:
            item = X3Item.objects.get_or_create(
                folder=target,
                itmref=demo.sku,
                defaults={"itmdes1": demo.description, "baspri": demo.unit_price},
            )[0]
            X3Stock.objects.get_or_create(
                folder=target, item=item, stofcy=demo.location, defaults={"qtystu": demo.on_hand}
            )
        # A service item (no stock) that sales invoices of services, such as subscriptions, are raised on.
        X3Item.objects.get_or_create(
            folder=target, itmref="SERVICE", defaults={"itmdes1": "Services", "baspri": Decimal("0")}
        )
        for demo in demo_data.INVOICES:
            customer = customers[demo.customer_number]
            X3Invoice.objects.get_or_create(
                folder=target,
                num=demo.number,
                defaults={
                    "customer": customer,
                    "cur": customer.cur,
                    "invref": demo.reference,
                    "invdat": demo.issued_on(today),
                    "duddat": demo.due_on(today),
                    "amtati": demo.amount,
                },
            )
    return target


def counter_next(*, folder: X3Folder, code: str, prefix: str) -> str:
    """Next document number of a counter; the row lock keeps concurrent imports from sharing one."""
    value = counter_increment(model=X3Counter, keys={"folder": folder.pk, "code": code})
    return f"{prefix}{value:06d}"


def parse_x3_date(value: str, *, field: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise X3Refusal(f"{field} : Invalid date {value!r}") from None


def parse_x3_decimal(value: str, *, field: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise X3Refusal(f"{field} : Invalid number {value!r}") from None


def mandatory(values: dict, *names: str) -> None:
    missing = [name for name in names if not str(values.get(name) or "").strip()]
    if missing:
        raise X3Refusal(*(f"{name} : Mandatory field" for name in missing))


def customer_for(*, folder: X3Folder, bpcnum: str) -> X3Customer:
    customer = X3Customer.objects.filter(folder=folder, bpcnum=bpcnum).first()
    if customer is None:
        raise X3Refusal(f"Customer {bpcnum} : Record does not exist")
    return customer
