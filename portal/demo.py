"""The demo world of `make run`: connections to the four local simulators, mapping tables for the three
ERPs, customers linked in every system, open invoices, a few PayTrace payments, and staff logins.

Every step is idempotent: running the demo again finds what exists and adds only what is missing."""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, CustomerLink
from customers.services import customer_normalized_fields_set
from integrations.connection_services import connection_update
from integrations.models import (
    ERP_SYSTEMS,
    Connection,
    CurrencyRate,
    FieldDefault,
    GLAccountRule,
    PaymentMethodMapping,
    StatusMapping,
    System,
)
from payments.models import Invoice, Subscription
from portal.roles import AUDITOR, FINANCE_REVIEWER, INTEGRATION_ADMIN
from simulators.demo_data import CARD_TESTING_BURST, CUSTOMERS, INVOICES, TEST_AMEX

if TYPE_CHECKING:  # the simulators are not installed in production; only the demo uses them
    from simulators.paytrace.models import PtAccount

BASE_URL = "http://127.0.0.1:8000"
PAYTRACE_USER, PAYTRACE_PASSWORD, INTEGRATOR_ID = "demo", "demo-password", "PAYSAGE01"
SAGE300_COMPANY, SAGE300_USER, SAGE300_PASSWORD = "SAMLTD", "ADMIN", "ADMIN"
X3_FOLDER, X3_POOL, X3_USER, X3_PASSWORD = "SEED", "PAYSAGE", "admin", "admin-password"
SAGEPRO_SITE, SAGEPRO_API_KEY = "DEMO", "sagepro-demo-key"
# PayTrace's v1 export names no merchant: the account's id is set on its connection (v3 calls it merchant_id).
DEMO_MERCHANT_ID = "100001"

CONNECTIONS = {
    "PayTrace (sandbox)": (
        System.PAYTRACE,
        "/sandbox/paytrace",
        {"username": PAYTRACE_USER, "password": PAYTRACE_PASSWORD, "integrator_id": INTEGRATOR_ID},
        {
            "timezone": "America/Los_Angeles",
            "erp_connection": "Sage 300 (sandbox)",
            "timeout": 15,
            "merchant_id": DEMO_MERCHANT_ID,
        },
    ),
    "Sage 300 (sandbox)": (
        System.SAGE_300,
        "/sandbox/sage300/Sage300WebApi/v1.0",
        {"username": SAGE300_USER, "password": SAGE300_PASSWORD},
        {"company": SAGE300_COMPANY, "bank_code": "PAYTRACE", "receipt_batch_size": 20, "location": "WH1"},
    ),
    "Sage X3 (sandbox)": (
        System.SAGE_X3,
        "/sandbox/x3",
        {"username": X3_USER, "password": X3_PASSWORD},
        {
            "folder": X3_FOLDER,
            "pool_alias": X3_POOL,
            "language": "ENG",
            "receipt_batch_size": 20,
            "site": "WH1",
        },
    ),
    "Sage Pro (sandbox)": (
        System.SAGE_PRO,
        "/sandbox/sagepro",
        {"api_key": SAGEPRO_API_KEY},
        {"transport": "rest", "receipt_batch_size": 50},
    ),
}


@dataclass(frozen=True)
class ErpCodes:
    card_payment_code: str
    ach_payment_code: str
    card_bank: str
    ach_bank: str
    accounts: dict[str, str]
    card_banks_by_currency: dict[str, str]  # a bank account per currency for card receipts


ERP_CODES = {
    System.SAGE_300: ErpCodes(
        "CC",
        "ACH",
        "PAYTRACE",
        "OPER",
        {
            "cash": "1000",
            "clearing": "1020",
            "receivable": "1200",
            "revenue": "4000",
            "refunds": "4100",
            "fees": "6100",
            "chargebacks": "6200",
            "write_off": "6900",
            "unapplied": "1200",
        },
        {"CAD": "PTCAD"},
    ),
    System.SAGE_X3: ErpCodes(
        "CARD",
        "ACH",
        "CARD",
        "BANK1",
        {
            "cash": "512000",
            "clearing": "511000",
            "receivable": "411000",
            "revenue": "706000",
            "refunds": "709000",
            "fees": "627000",
            "chargebacks": "658000",
            "write_off": "658100",
            "unapplied": "411000",
        },
        {"CAD": "CADBK"},
    ),
    System.SAGE_PRO: ErpCodes(
        "CC",
        "ACH",
        "PT",
        "OPER",
        {
            "cash": "1000",
            "clearing": "1050",
            "receivable": "1200",
            "revenue": "4000",
            "refunds": "4100",
            "fees": "6100",
            "chargebacks": "6200",
            "write_off": "6900",
            "unapplied": "1200",
        },
        {"CAD": "PTCAD"},
    ),
}

STATUS_MAPPINGS = (
    ("approved", "Paid", StatusMapping.Action.RECEIPT, False),
    # Sage Pro's seed status; in Sage 300 and X3 it is the note's text (finance may set the action to none).
    ("declined", "Payment Failed", StatusMapping.Action.STATUS_NOTE, False),
    ("refunded", "Credit memo", StatusMapping.Action.CREDIT_MEMO, False),
    ("voided", "Reversed", StatusMapping.Action.REVERSAL, False),
    ("chargeback", "Reversed (chargeback)", StatusMapping.Action.REVERSAL, True),
)
# Processing fees per card brand: percent of the batch's sales plus a fixed amount per sale.
CARD_FEES = {
    "VISA": (Decimal("2.50"), Decimal("0.10")),
    "MASTERCARD": (Decimal("2.60"), Decimal("0.10")),
    "AMEX": (Decimal("3.50"), Decimal("0.15")),
    "DISCOVER": (Decimal("2.40"), Decimal("0.10")),
}
# Under document type "reconciliation" (no ERP document carries it): batch-level differences up to
# `reconciliation_tolerance` are written off without asking.
FIELD_DEFAULTS = {
    System.SAGE_300: {
        ("", "home_currency"): "USD",
        ("reconciliation", "reconciliation_tolerance"): "0.05",
        ("sales_order", "Location"): "WH1",
    },
    System.SAGE_X3: {
        ("", "home_currency"): "USD",
        ("reconciliation", "reconciliation_tolerance"): "0.05",
        ("sales_order", "SALFCY"): "WH1",
        ("sales_order", "SOHTYP"): "SON",
        ("invoice", "ITMREF"): "SERVICE",  # subscription periods are invoiced on this service item
    },
    System.SAGE_PRO: {
        ("", "home_currency"): "USD",
        ("reconciliation", "reconciliation_tolerance"): "0.05",
        ("sales_order", "LOCTID"): "WH1",
    },
}
CURRENCY_RATES = (("CAD", "USD", Decimal("0.73000000")), ("EUR", "USD", Decimal("1.08000000")))
STAFF = (
    ("admin", None),
    ("reviewer", FINANCE_REVIEWER),
    ("integrator", INTEGRATION_ADMIN),
    ("auditor", AUDITOR),
)
LOGIN_FILE = settings.VAR_DIR / "admin-login.txt"
DEMO_PASSWORD_BYTES = 15  # 20 url-safe characters, well over the validators' minimum of 12


def demo_connections_ensure(*, base_url: str = BASE_URL) -> dict[str, Connection]:
    """When the portal (and its simulators) is served elsewhere than last time, e.g. on another port, the
    connections follow it, the demo credentials entered again with the new URL (a moved base URL drops the
    stored ones)."""
    connections = {}
    for name, (system, path, credentials, options) in CONNECTIONS.items():
        url = f"{base_url}{path}"
        connection, created = Connection.objects.get_or_create(
            name=name,
            defaults={
                "system": system,
                "environment": settings.PAYSAGE_ENV,
                "base_url": url,
                "credentials": credentials,
                "options": options,
            },
        )
        if not created and connection.base_url != url:
            connection_update(connection=connection, data={"base_url": url}, credentials=credentials)
        connections[system] = connection
    return connections


def demo_connections_follow(*, base_url: str) -> list[str]:
    """`serve` calls this with the address it serves on: the demo connections that still point at a
    simulator of this portal (their URL ends with the simulator's path), under any address, move to it
    with their demo credentials. One an admin pointed elsewhere is left alone, and none is created.
    Returns the names of the connections moved."""
    moved = []
    for name, (system, path, credentials, _options) in CONNECTIONS.items():
        url = f"{base_url}{path}"
        connection = Connection.objects.filter(name=name, system=system).first()
        if connection is None or connection.base_url == url or not connection.base_url.endswith(path):
            continue
        connection_update(connection=connection, data={"base_url": url}, credentials=credentials)
        moved.append(name)
    return moved


def demo_mappings_ensure() -> None:
    valid_from = date(2026, 1, 1)
    for erp, codes in ERP_CODES.items():
        for status, erp_status, action, reopen in STATUS_MAPPINGS:
            StatusMapping.objects.get_or_create(
                erp=erp,
                paytrace_status=status,
                defaults={"erp_status": erp_status, "action": action, "reopen_invoice": reopen},
            )
        for method, code, bank, currency in (
            ("card", codes.card_payment_code, codes.card_bank, ""),
            ("ach", codes.ach_payment_code, codes.ach_bank, ""),
            *(
                ("card", codes.card_payment_code, bank, currency)
                for currency, bank in codes.card_banks_by_currency.items()
            ),
        ):
            PaymentMethodMapping.objects.get_or_create(
                erp=erp,
                payment_method=method,
                card_brand="",
                currency=currency,
                defaults={"erp_payment_code": code, "bank_code": bank},
            )
        for purpose, account in codes.accounts.items():
            GLAccountRule.objects.get_or_create(
                erp=erp,
                purpose=purpose,
                transaction_type="",
                merchant_id="",
                card_brand="",
                defaults={"account": account},
            )
        for brand, (percent, fixed) in CARD_FEES.items():
            GLAccountRule.objects.get_or_create(
                erp=erp,
                purpose="fees",
                transaction_type="",
                merchant_id="",
                card_brand=brand,
                defaults={"account": codes.accounts["fees"], "fee_percent": percent, "fee_fixed": fixed},
            )
        for (document_type, field), value in FIELD_DEFAULTS[erp].items():
            FieldDefault.objects.get_or_create(
                erp=erp, document_type=document_type, field=field, defaults={"value": value}
            )
    for source, target, rate in CURRENCY_RATES:
        CurrencyRate.objects.get_or_create(
            from_currency=source, to_currency=target, valid_from=valid_from, defaults={"rate": rate}
        )


def demo_sandboxes_seed() -> None:
    """Accounts and demo data inside the four simulators (they live in this same database)."""
    from simulators.paytrace.services import sandbox_paytrace_account_ensure, sandbox_paytrace_seed
    from simulators.sage300.services.company import (
        sandbox_sage300_company_ensure,
        sandbox_sage300_seed,
    )
    from simulators.sagepro.services import sandbox_sagepro_seed, sandbox_sagepro_site_ensure
    from simulators.x3.services import sandbox_x3_folder_ensure, sandbox_x3_seed

    sandbox_paytrace_account_ensure(
        username=PAYTRACE_USER, password=PAYTRACE_PASSWORD, integrator_id=INTEGRATOR_ID
    )
    sandbox_paytrace_seed(username=PAYTRACE_USER)
    sandbox_sage300_company_ensure(company=SAGE300_COMPANY, username=SAGE300_USER, password=SAGE300_PASSWORD)
    sandbox_sage300_seed(company=SAGE300_COMPANY)
    sandbox_x3_folder_ensure(folder=X3_FOLDER, pool_alias=X3_POOL, username=X3_USER, password=X3_PASSWORD)
    sandbox_x3_seed(folder=X3_FOLDER)
    sandbox_sagepro_site_ensure(site=SAGEPRO_SITE, api_key=SAGEPRO_API_KEY)
    sandbox_sagepro_seed(site=SAGEPRO_SITE)


def demo_customers_ensure(*, connections: dict[str, Connection]) -> dict[str, Customer]:
    """The demo customers, linked by the same number in PayTrace's vault and in each ERP."""
    customers = {}
    for demo in CUSTOMERS:
        link = CustomerLink.objects.filter(
            connection=connections[System.PAYTRACE], external_id=demo.number
        ).first()
        if link is not None:
            customers[demo.number] = link.customer
            continue
        customer = Customer(
            name=demo.name,
            email=demo.email,
            phone=demo.phone,
            address_line1=demo.street,
            city=demo.city,
            state=demo.state,
            postal_code=demo.postal_code,
            country=demo.country,
            currency=demo.currency,
        )
        customer_normalized_fields_set(customer=customer)
        customer.save()
        customers[demo.number] = customer
    for customer_number, customer in customers.items():
        for connection in connections.values():
            CustomerLink.objects.get_or_create(
                customer=customer,
                connection=connection,
                defaults={"external_id": customer_number, "synced_at": timezone.now()},
            )
    return customers


def demo_invoices_ensure(*, connections: dict[str, Connection], customers: dict[str, Customer]) -> None:
    today = timezone.localdate()
    for erp in ERP_SYSTEMS:
        for demo in INVOICES:
            customer = customers[demo.customer_number]
            Invoice.objects.get_or_create(
                connection=connections[erp],
                invoice_number=demo.number,
                defaults={
                    "customer": customer,
                    "reference": demo.reference,
                    "currency": customer.currency,
                    "amount": demo.amount,
                    "balance": demo.amount,
                    "issued_on": demo.issued_on(today),
                    "due_on": demo.due_on(today),
                },
            )


def demo_payments_ensure() -> int:
    """A few PayTrace payments for the first sync to pick up; only on an account with none yet."""
    from simulators.paytrace.models import PtAccount, PtCustomer, PtTransaction
    from simulators.paytrace.services.transactions import (
        Origin,
        pt_card_charge,
        pt_transaction_void,
    )
    from simulators.paytrace.settlement import pt_batch_settle

    account = PtAccount.objects.get(username=PAYTRACE_USER)
    if PtTransaction.objects.filter(account=account).exists():
        return 0
    plan = (
        ("C1001", Decimal("1250.00"), "INV-5001", False),  # pays one invoice exactly, by reference
        ("C1002", Decimal("50.00"), "WEB-1002", False),  # part of an invoice raised for a web order
        ("C1003", Decimal("4500.00"), "", False),  # two invoices oldest first, the rest on account
        ("C1004", Decimal("0.29"), "", False),  # the sandbox declines this amount
        ("C1005", Decimal("45.00"), "INV-5007", True),  # voided before settlement
        # A CAD customer through the USD account: 729.27 USD at 0.73 pays its 999.00 CAD invoice, posted
        # in CAD to the ERP's CAD bank.
        ("C1006", Decimal("729.27"), "INV-5008", False),
    )
    for number, amount, invoice_id, void in plan:
        vaulted = PtCustomer.objects.get(account=account, customer_id=number)
        origin = Origin(
            customer_id=number,
            details={"invoice_id": invoice_id} if invoice_id else {},
            billing_address=vaulted.billing_address,  # as the vault sale endpoint does: AVS matches
        )
        charged = pt_card_charge(account=account, kind="SALE", amount=amount, origin=origin, card_of=vaulted)
        if void:
            pt_transaction_void(account=account, transaction_id=charged.pk)
    pt_batch_settle(account=account, settled_at=timezone.now())
    # Planted for `reconcile`: an AMEX card keyed in the virtual terminal, with no vault customer, in a
    # batch of its own. Its receipt cannot post (no customer, no default customer: a dead letter, so
    # "missing in the ERP"), and the processor prices AMEX above the demo's fee rule (a fee mismatch).
    today = timezone.localdate()
    amex = _test_card(TEST_AMEX, csc="1234", today=today)
    origin = Origin(details={"invoice_id": "VT-0001"})
    pt_card_charge(account=account, kind="SALE", amount=Decimal("180.00"), origin=origin, card=amex)
    pt_batch_settle(account=account, settled_at=timezone.now())
    return len(plan) + 1 + demo_risky_payments_plant(account=account, today=today)


def _test_card(number: str, *, csc: str, today: date):
    """The simulator's parsed card facts for one of PayTrace's test cards (only last four and brand stay)."""
    from simulators.paytrace.instruments import card_parse

    return card_parse(
        {"number": number, "expiration_month": 12, "expiration_year": today.year + 2}, csc=csc, today=today
    )


def demo_risky_payments_plant(*, account: "PtAccount", today: date) -> int:
    """Planted for the risk review queue, left unsettled: a card-testing burst from one IP (small keyed
    charges on several cards, which the sandbox declines at 0.29 and 1.12, then one that goes through),
    and a large keyed payment for C1004 without address or the right security code. The first sync
    scores them; both land in the queue with their reasons, and approving C1004's posts its receipt."""
    from simulators.paytrace.services.accounts import DEMO_CARD_NUMBER
    from simulators.paytrace.services.transactions import Origin, pt_card_charge

    tester = Origin(from_ip="203.0.113.66", billing_address={"zip": "10001", "country": "US"})
    for number, amount in CARD_TESTING_BURST:
        pt_card_charge(
            account=account,
            kind="SALE",
            amount=Decimal(amount),
            origin=tester,
            card=_test_card(number, csc="123", today=today),
        )
    stranger = Origin(from_ip="198.51.100.23", customer_id="C1004", billing_address={"country": "US"})
    pt_card_charge(
        account=account,
        kind="SALE",
        amount=Decimal("2400.00"),
        origin=stranger,
        card=_test_card(DEMO_CARD_NUMBER, csc="123", today=today),
    )
    return len(CARD_TESTING_BURST) + 1


def demo_subscriptions_ensure(*, connections: dict[str, Connection], customers: dict[str, Customer]) -> None:
    """Two monthly subscriptions due on the day the demo is loaded: one the sandbox approves, one it
    declines (1.12), which enters dunning on the first billing run."""
    for number, amount, description in (
        ("C1001", Decimal("49.00"), "Gear rental plan"),
        ("C1004", Decimal("1.12"), "Fleet tracking plan"),
    ):
        Subscription.objects.get_or_create(
            customer=customers[number],
            paytrace_customer_id=number,
            description=description,
            defaults={
                "paytrace_connection": connections[System.PAYTRACE],
                "erp_connection": connections[System.SAGE_300],
                "amount": amount,
                "next_run_on": timezone.localdate(),
            },
        )


def _login_passwords() -> dict[str, str]:
    if not LOGIN_FILE.exists():
        return {}
    pairs = (line.split(":", 1) for line in LOGIN_FILE.read_text().splitlines() if ":" in line)
    return {user.strip(): password.strip() for user, password in pairs}


def _password_valid(*, password: str | None, user) -> bool:
    """A password kept from an earlier demo still passes today's validators (older ones were shorter)."""
    if not password:
        return False
    try:
        validate_password(password, user=user)
    except ValidationError:
        return False
    return True


def demo_staff_ensure(*, login_file: Path = LOGIN_FILE) -> dict[str, str]:
    """A superuser and one login per role; passwords are made once and kept in var/admin-login.txt."""
    user_model = get_user_model()
    passwords = _login_passwords()
    for username, role in STAFF:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "is_superuser": role is None, "email": f"{username}@paysage.local"},
        )
        password = passwords.get(username)
        kept = _password_valid(password=password, user=user)
        if not kept:
            password = secrets.token_urlsafe(DEMO_PASSWORD_BYTES)
        if created or not kept:
            user.set_password(password)
            user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
        passwords[username] = password
    login_file.parent.mkdir(exist_ok=True)
    login_file.write_text("".join(f"{user}: {password}\n" for user, password in passwords.items()))
    login_file.chmod(0o600)
    return passwords


@transaction.atomic
def demo_load(*, base_url: str = BASE_URL) -> dict[str, str]:
    connections = demo_connections_ensure(base_url=base_url)
    demo_mappings_ensure()
    demo_sandboxes_seed()
    customers = demo_customers_ensure(connections=connections)
    demo_invoices_ensure(connections=connections, customers=customers)
    demo_payments_ensure()
    demo_subscriptions_ensure(connections=connections, customers=customers)
    return demo_staff_ensure()
