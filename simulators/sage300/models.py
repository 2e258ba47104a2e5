"""State of the Sage 300 simulator, one company (database) at a time.

Master data and the open-item ledger (AROBL) are typed rows because postings change them; what else a
client sent for a master record is kept in its `properties`, by Web API property name, so GET answers
what was accepted. Batches and orders keep their entries as the Web API shape (JSON with exact
decimals), the way a client sent them plus the server-assigned numbers.
"""

from decimal import Decimal

from django.db import models

from simulators.sage300.wire import WireDecoder, WireEncoder

MONEY = {"max_digits": 16, "decimal_places": 3, "default": Decimal("0")}
QUANTITY = {"max_digits": 14, "decimal_places": 4, "default": Decimal("0")}


def properties_field() -> models.JSONField:
    return models.JSONField(
        default=dict,
        blank=True,
        encoder=WireEncoder,
        decoder=WireDecoder,
        help_text="The other Web API properties a client sent for this record, by name.",
    )


class Company(models.Model):
    code = models.CharField(max_length=6, unique=True, help_text="Company database id, e.g. SAMLTD.")
    username = models.CharField(max_length=8, default="ADMIN")
    password = models.CharField(max_length=64, help_text="Simulator only: a test user's password.")
    page_size = models.PositiveIntegerField(default=100, help_text="web.config PageSize.")
    legacy_odata = models.BooleanField(
        default=False, help_text="Answer like older servers: odata.nextLink / odata.count (a string)."
    )
    fault_status = models.PositiveSmallIntegerField(
        default=503, help_text="What an injected fault answers: 503 (IIS, text/plain) or 429 TooManyRequests."
    )
    first_fiscal_year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="First year of the fiscal calendar; blank: five years before this one. "
        "Sage's sample company (SAMLTD) posts in 2020.",
    )

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.code


class Counter(models.Model):
    """Next server-assigned number per kind (AR batch, GL batch, order, document)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE)
    name = models.CharField(max_length=30)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="s300_counter_unique")]

    def __str__(self) -> str:
        return f"{self.company_id}:{self.name}={self.value}"


class Customer(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="customers")
    number = models.CharField(max_length=12)
    name = models.CharField(max_length=60)
    short_name = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, default="Active")
    email = models.CharField(max_length=50, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=60, blank=True)
    address_line2 = models.CharField(max_length=60, blank=True)
    city = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=30, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    allow_backorders = models.BooleanField(default=True)
    date_last_maintained = models.DateField()
    properties = properties_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "number"], name="s300_customer_unique")]

    def __str__(self) -> str:
        return self.number


class GLAccount(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="accounts")
    number = models.CharField(max_length=45)
    description = models.CharField(max_length=60)
    account_type = models.CharField(max_length=20, default="BalanceSheet")
    normal_balance = models.CharField(max_length=6, default="Debit")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "number"], name="s300_glaccount_unique")]

    def __str__(self) -> str:
        return self.number


class Bank(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="banks")
    code = models.CharField(max_length=8)
    description = models.CharField(max_length=60)
    gl_account = models.CharField(max_length=45)
    currency = models.CharField(max_length=3, default="USD")
    properties = properties_field()  # never BankAccountNumber: the simulator keeps no account numbers

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="s300_bank_unique")]

    def __str__(self) -> str:
        return self.code


class Item(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="items")
    number = models.CharField(max_length=24)
    description = models.CharField(max_length=60)
    unit_price = models.DecimalField(**MONEY)
    unit = models.CharField(max_length=10, default="Ea")
    properties = properties_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "number"], name="s300_item_unique")]

    def __str__(self) -> str:
        return self.number


class ItemLocation(models.Model):
    """ICILOC: quantities per item and location; `committed` is what open sales orders hold."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="locations")
    location = models.CharField(max_length=6)
    on_hand = models.DecimalField(**QUANTITY)
    committed = models.DecimalField(**QUANTITY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "location"], name="s300_itemloc_unique")]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.location}"


class OpenDocument(models.Model):
    """AROBL, served as ARPostedDocuments: posted documents with their current balance. Credits
    (credit notes, unapplied cash) carry negative amounts, as in the customer's ledger."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="documents")
    customer_number = models.CharField(max_length=12)
    document_number = models.CharField(max_length=22)
    # Invoice, DebitNote, CreditNote, Interest, UnappliedCash, Prepayment
    document_type = models.CharField(max_length=20)
    document_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    original_amount = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY)
    order_number = models.CharField(max_length=22, blank=True)
    po_number = models.CharField(max_length=22, blank=True)
    check_receipt_number = models.CharField(max_length=24, blank=True)  # of unapplied cash, prepayments
    description = models.CharField(max_length=60, blank=True)
    batch_number = models.PositiveIntegerField(default=0)
    entry_number = models.PositiveIntegerField(default=0)
    # LastActivityDate: the day the document was last posted, paid, credited or adjusted.
    last_activity_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "customer_number", "document_number"], name="s300_document_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_number}/{self.document_number}"


class Batch(models.Model):
    """An AR invoice, AR receipt/adjustment or GL journal batch, kept in its Web API shape."""

    class Kind(models.TextChoices):
        AR_INVOICE = "ar_invoice"
        AR_RECEIPT = "ar_receipt"  # BatchRecordType CA
        AR_ADJUSTMENT = "ar_adjustment"  # BatchRecordType AD
        GL_JOURNAL = "gl_journal"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, default="Open")  # Open, ReadyToPost, Posted
    payload = models.JSONField(encoder=WireEncoder, decoder=WireDecoder)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "number"], name="s300_batch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class PostedReceipt(models.Model):
    """ARPostedReceipts (ARRRH): one row per receipt entry of a posted CA batch."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="posted_receipts")
    batch_number = models.PositiveIntegerField()
    entry_number = models.PositiveIntegerField()
    customer_number = models.CharField(max_length=12)
    check_receipt_number = models.CharField(max_length=24)
    document_number = models.CharField(max_length=22, blank=True)
    document_type = models.CharField(max_length=20, blank=True)  # the entry's ReceiptTransactionType
    bank_code = models.CharField(max_length=8)
    payment_code = models.CharField(max_length=12, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    receipt_date = models.DateField()
    amount = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.customer_number}/{self.check_receipt_number}"


class Order(models.Model):
    """OEORDH with its details (OEORDD) as the Web API shape."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="orders")
    uniquifier = models.PositiveBigIntegerField()
    number = models.CharField(max_length=22)
    payload = models.JSONField(encoder=WireEncoder, decoder=WireDecoder)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "number"], name="s300_order_unique")]

    def __str__(self) -> str:
        return self.number


class LookupRecord(models.Model):
    """A master record nothing else in the simulator needs typed (ARDistributionCodes, ICLocations,
    OEMiscellaneousCharges), kept whole in its Web API shape under its key."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="lookups")
    resource = models.CharField(max_length=40)  # e.g. IC/ICLocations
    key = models.CharField(max_length=100)  # the key values, joined by "|"
    payload = models.JSONField(encoder=WireEncoder, decoder=WireDecoder)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "resource", "key"], name="s300_lookup_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource}({self.key})"
