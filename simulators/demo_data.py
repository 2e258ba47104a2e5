"""The one demo world every simulator seeds from, so a PayTrace customer, its Sage customer and its
open invoices line up across systems in `make run` and in tests."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class DemoCustomer:
    number: str  # ERP customer number; also the PayTrace vault customer_id
    name: str
    email: str
    phone: str
    street: str
    city: str
    state: str
    postal_code: str
    country: str = "US"
    currency: str = "USD"


@dataclass(frozen=True)
class DemoItem:
    sku: str
    description: str
    unit_price: Decimal
    on_hand: Decimal
    location: str = "WH1"


@dataclass(frozen=True)
class DemoInvoice:
    number: str
    customer_number: str
    amount: Decimal
    days_old: int
    reference: str = ""  # the storefront order id the invoice was raised for

    def issued_on(self, today: date) -> date:
        return today - timedelta(days=self.days_old)

    def due_on(self, today: date) -> date:
        return self.issued_on(today) + timedelta(days=30)


CUSTOMERS = (
    DemoCustomer(
        "C1001",
        "Acme Outdoor Supply",
        "ap@acme-outdoor.example",
        "206-555-0101",
        "100 Pike St",
        "Seattle",
        "WA",
        "98101",
    ),
    DemoCustomer(
        "C1002",
        "Birch & Maple Cafe",
        "billing@birchmaple.example",
        "503-555-0102",
        "22 Alder Ave",
        "Portland",
        "OR",
        "97205",
    ),
    DemoCustomer(
        "C1003",
        "Cobalt Dental Group",
        "accounts@cobaltdental.example",
        "415-555-0103",
        "9 Market St",
        "San Francisco",
        "CA",
        "94105",
    ),
    DemoCustomer(
        "C1004",
        "Delta Freight LLC",
        "ar@deltafreight.example",
        "312-555-0104",
        "400 Wacker Dr",
        "Chicago",
        "IL",
        "60606",
    ),
    DemoCustomer(
        "C1005",
        "Evergreen Books",
        "owner@evergreenbooks.example",
        "617-555-0105",
        "12 Newbury St",
        "Boston",
        "MA",
        "02116",
    ),
    DemoCustomer(
        "C1006",
        "Fjord Design Studio",
        "hello@fjorddesign.example",
        "604-555-0106",
        "55 Water St",
        "Vancouver",
        "BC",
        "V6B1A1",
        country="CA",
        currency="CAD",
    ),
)

ITEMS = (
    DemoItem("TENT-2P", "Two-person tent", Decimal("249.00"), Decimal("40")),
    DemoItem("BAG-20F", "Sleeping bag 20F", Decimal("129.50"), Decimal("75")),
    DemoItem("STOVE-1", "Camp stove", Decimal("64.99"), Decimal("120")),
    DemoItem("LAMP-LED", "LED lantern", Decimal("29.95"), Decimal("300")),
    DemoItem("MUG-TI", "Titanium mug", Decimal("19.00"), Decimal("0")),
)

INVOICES = (
    DemoInvoice("INV-5001", "C1001", Decimal("1250.00"), days_old=45),
    DemoInvoice("INV-5002", "C1001", Decimal("310.40"), days_old=12),
    DemoInvoice("INV-5003", "C1002", Decimal("89.99"), days_old=20, reference="WEB-1002"),
    DemoInvoice("INV-5004", "C1003", Decimal("4200.00"), days_old=60),
    DemoInvoice("INV-5005", "C1003", Decimal("150.00"), days_old=5),
    DemoInvoice("INV-5006", "C1004", Decimal("780.25"), days_old=33),
    DemoInvoice("INV-5007", "C1005", Decimal("45.00"), days_old=2, reference="WEB-1005"),
    DemoInvoice("INV-5008", "C1006", Decimal("999.00"), days_old=15),
)


# PayTrace's documented test cards, for the demo's keyed sandbox charges only: the simulator keeps their
# last four digits and brand, never the number.
TEST_AMEX = "371449635392376"
# A card-testing burst: small charges on several cards from one IP, which the sandbox declines at 0.29 and
# 1.12, then one that goes through.
CARD_TESTING_BURST = (
    ("4111111111111111", "0.29"),
    ("5555555555554444", "1.12"),
    ("4012888888881881", "0.29"),
    ("5105105105105100", "1.12"),
    ("4000056655665556", "1.00"),
)
