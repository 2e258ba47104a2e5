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
    ("1021", "Card clearing (PayTrace, CAD)", "BalanceSheet", "Debit"),
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
    # A receipt's customer currency must be its bank's (SDK community thread 202825): CAD customers'
    # receipts go to a CAD bank.
    ("PTCAD", "PayTrace card deposits (CAD)", "1021", "CAD"),
)
# CS/CSCurrencyRates rows (Endpoint Reference, Aug 2022: "CSCurrencyCodes/Rates", full CRUD): the home
# currency USD, spot rate type, each source currency's rate from the start of the demo year.
CURRENCY_RATES = (("CAD", "0.7300000"), ("EUR", "1.0800000"))


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
    rate_date = today.replace(month=1, day=1).isoformat() + "T00:00:00Z"
    for source, rate in CURRENCY_RATES:
        LookupRecord.objects.get_or_create(
            company=record,
            resource="CS/CSCurrencyRates",
            key=f"USD|SP|{source}|{rate_date}",
            defaults={
                "payload": {
                    "HomeCurrency": "USD",
                    "RateType": "SP",
                    "SourceCurrency": source,
                    "RateDate": rate_date,
                    "Rate": rate,
                    "RateOperation": "Multiply",
                }
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
