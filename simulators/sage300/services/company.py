"""Companies of the simulator and the shared demo world seeded into them."""

from django.db import transaction
from django.utils import timezone

from simulators import demo_data
from simulators.sage300.models import (
    Bank,
    Company,
    Customer,
    GLAccount,
    Item,
    ItemLocation,
    LookupRecord,
    OpenDocument,
)

GL_ACCOUNTS = (
    ("1000", "Bank - operating", "BalanceSheet", "Debit"),
    ("1020", "Card clearing (PayTrace)", "BalanceSheet", "Debit"),
    ("1200", "Accounts receivable", "BalanceSheet", "Debit"),
    ("4000", "Revenue", "IncomeStatement", "Credit"),
    ("4100", "Refunds and returns", "IncomeStatement", "Debit"),
    ("6100", "Card processing fees", "IncomeStatement", "Debit"),
    ("6200", "Chargebacks", "IncomeStatement", "Debit"),
    ("6900", "Bad debt write-off", "IncomeStatement", "Debit"),
)
BANKS = (
    ("OPER", "Operating account", "1000", "USD"),
    ("PAYTRACE", "PayTrace card deposits", "1020", "USD"),
)


def sandbox_sage300_company_ensure(
    *,
    company: str,
    username: str = "ADMIN",
    password: str = "ADMIN",  # noqa: S107 - the simulator's demo sign-on
) -> Company:
    """Create the company or reset its sign-on; user ids are upper-case in Sage 300."""
    record, _ = Company.objects.update_or_create(
        code=company.upper(), defaults={"username": username.upper(), "password": password}
    )
    return record


@transaction.atomic
def sandbox_sage300_seed(*, company: str) -> Company:
    """Demo customers, items with stock at WH1 (an ICLocations record), GL accounts, banks and open
    invoices; running it again creates nothing twice and leaves balances and stock as the company's
    activity left them."""
    record = Company.objects.get(code=company.upper())
    today = timezone.now().date()
    for number, description, account_type, normal_balance in GL_ACCOUNTS:
        GLAccount.objects.get_or_create(
            company=record,
            number=number,
            defaults={
                "description": description,
                "account_type": account_type,
                "normal_balance": normal_balance,
            },
        )
    for code, description, gl_account, currency in BANKS:
        Bank.objects.get_or_create(
            company=record,
            code=code,
            defaults={"description": description, "gl_account": gl_account, "currency": currency},
        )
    for demo in demo_data.CUSTOMERS:
        Customer.objects.get_or_create(
            company=record,
            number=demo.number,
            defaults={
                "name": demo.name,
                "short_name": demo.name[:10],
                "email": demo.email,
                "phone": demo.phone,
                "address_line1": demo.street,
                "city": demo.city,
                "state": demo.state,
                "postal_code": demo.postal_code,
                "country": demo.country,
                "currency": demo.currency,
                "date_last_maintained": today,
            },
        )
    for location in sorted({demo.location for demo in demo_data.ITEMS}):
        # ICLocations as Sage's sample posts one: LocationKey, Name, LocationType.
        LookupRecord.objects.get_or_create(
            company=record,
            resource="IC/ICLocations",
            key=location,
            defaults={
                "payload": {
                    "LocationKey": location,
                    "Name": f"Warehouse {location}",
                    "LocationType": "Physical",
                }
            },
        )
    for demo in demo_data.ITEMS:
        item, _ = Item.objects.get_or_create(
            company=record,
            number=demo.sku,
            defaults={"description": demo.description, "unit_price": demo.unit_price},
        )
        ItemLocation.objects.get_or_create(
            item=item, location=demo.location, defaults={"on_hand": demo.on_hand}
        )
    currencies = {demo.number: demo.currency for demo in demo_data.CUSTOMERS}
    for demo in demo_data.INVOICES:
        OpenDocument.objects.get_or_create(
            company=record,
            customer_number=demo.customer_number,
            document_number=demo.number,
            defaults={
                "document_type": "Invoice",
                "document_date": demo.issued_on(today),
                "due_date": demo.due_on(today),
                "currency": currencies[demo.customer_number],
                "original_amount": demo.amount,
                "balance": demo.amount,
                "order_number": demo.reference,
                "last_activity_date": demo.issued_on(today),
            },
        )
    return record
