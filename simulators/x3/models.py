"""State of the simulated Sage X3: one folder (X3 endpoint) per test world, reached through its
classic SOAP pool alias and its api1 endpoint."""

from decimal import Decimal

from django.db import models

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 3}


class X3Folder(models.Model):
    folder = models.CharField(max_length=20, unique=True)
    pool_alias = models.CharField(max_length=40, unique=True)
    username = models.CharField(max_length=40)
    password_digest = models.CharField(max_length=64, help_text="SHA-256 of the sandbox password.")

    def __str__(self) -> str:
        return self.folder


class X3Counter(models.Model):
    """X3 sequence numbers (GESTCO): one running value per counter code."""

    folder = models.ForeignKey(X3Folder, on_delete=models.CASCADE)
    code = models.CharField(max_length=10)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "code"], name="x3counter_unique")]

    def __str__(self) -> str:
        return str(self.code)


class FolderScoped(models.Model):
    folder = models.ForeignKey(X3Folder, on_delete=models.CASCADE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class X3Customer(FolderScoped):
    """BPCUSTOMER with its default address (BPADDRESS) folded in."""

    bpcnum = models.CharField(max_length=15)
    bpcnam = models.CharField(max_length=70)
    # Customer category code; 10 holds the accepted-save fixture's "RETAIL" (X3's length is per folder).
    bcgcod = models.CharField(max_length=10, blank=True)
    bpcsta = models.PositiveSmallIntegerField(default=2)  # 2 active, 1 inactive
    cur = models.CharField(max_length=3, default="USD")
    addlig1 = models.CharField(max_length=50, blank=True)
    addlig2 = models.CharField(max_length=50, blank=True)
    cty = models.CharField(max_length=40, blank=True)
    sat = models.CharField(max_length=35, blank=True)
    poscod = models.CharField(max_length=10, blank=True)
    cry = models.CharField(max_length=3, blank=True)
    tel1 = models.CharField(max_length=40, blank=True)
    web1 = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "bpcnum"], name="x3customer_unique")]

    def __str__(self) -> str:
        return str(self.bpcnum)


class X3Item(FolderScoped):
    itmref = models.CharField(max_length=20)
    itmdes1 = models.CharField(max_length=50)
    baspri = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "itmref"], name="x3item_unique")]

    def __str__(self) -> str:
        return str(self.itmref)


class X3Stock(FolderScoped):
    """Stock of an item at a site: on hand (QTYSTU) and allocated (CUMALLQTY)."""

    item = models.ForeignKey(X3Item, on_delete=models.CASCADE, related_name="stock")
    stofcy = models.CharField(max_length=5)
    qtystu = models.DecimalField(**QUANTITY, default=Decimal("0"))
    cumallqty = models.DecimalField(**QUANTITY, default=Decimal("0"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "stofcy"], name="x3stock_unique")]

    def __str__(self) -> str:
        return str(self.stofcy)


class X3Account(FolderScoped):
    """GACCOUNT."""

    accnum = models.CharField(max_length=15)
    des = models.CharField(max_length=50)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "accnum"], name="x3account_unique")]

    def __str__(self) -> str:
        return str(self.accnum)


class X3PayType(FolderScoped):
    """TABPAYTYP: a payment transaction code and the bank account it debits."""

    paytyp = models.CharField(max_length=5)
    des = models.CharField(max_length=50)
    ban = models.CharField(max_length=5)
    account = models.ForeignKey(X3Account, on_delete=models.PROTECT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "paytyp"], name="x3paytype_unique")]

    def __str__(self) -> str:
        return str(self.paytyp)


class X3Invoice(FolderScoped):
    """SINVOICE with its open item (GACCDUDATE): AMTATI due, PAYCUR paid so far."""

    num = models.CharField(max_length=20)
    sivtyp = models.CharField(max_length=5, default="INV")
    customer = models.ForeignKey(X3Customer, on_delete=models.PROTECT, related_name="invoices")
    cur = models.CharField(max_length=3)
    invref = models.CharField(max_length=30, blank=True)
    invdat = models.DateField()
    duddat = models.DateField(null=True, blank=True)
    amtati = models.DecimalField(**MONEY)
    paycur = models.DecimalField(**MONEY, default=Decimal("0"))
    # The header's comment, the one field `modify` changes on an invoice. Sage documents that a customer
    # invoice header carries comments (developer.sage.com/x3/graphql/reference/x3InvoicingData/
    # customerInvoiceHeaderComments: `comment`, a string); the SOAP field name INVDES is SINVOICE's comment
    # field as X3's dictionary names it, which no public artefact kept here confirms.
    invdes = models.CharField(max_length=250, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "num"], name="x3invoice_unique")]

    def __str__(self) -> str:
        return str(self.num)


class X3SalesOrder(FolderScoped):
    sohnum = models.CharField(max_length=20)
    sohtyp = models.CharField(max_length=5)
    salfcy = models.CharField(max_length=5)
    customer = models.ForeignKey(X3Customer, on_delete=models.PROTECT, related_name="orders")
    cusordref = models.CharField(max_length=30, blank=True)
    cur = models.CharField(max_length=3)
    orddat = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "sohnum"], name="x3salesorder_unique")]

    def __str__(self) -> str:
        return str(self.sohnum)


class X3SalesOrderLine(models.Model):
    order = models.ForeignKey(X3SalesOrder, on_delete=models.CASCADE, related_name="lines")
    linnum = models.PositiveIntegerField()
    item = models.ForeignKey(X3Item, on_delete=models.PROTECT)
    itmdes1 = models.CharField(max_length=50)
    qty = models.DecimalField(**QUANTITY)
    gropri = models.DecimalField(**MONEY)
    allqty = models.DecimalField(**QUANTITY, help_text="Allocated at order entry.")
    shtqty = models.DecimalField(**QUANTITY, help_text="Shortage: ordered but not allocated.")

    def __str__(self) -> str:
        return str(self.linnum)


class X3Payment(FolderScoped):
    """PAYMENTH; a negative AMTCUR is the mirror payment that cancels `reverses`."""

    num = models.CharField(max_length=20)
    paytyp = models.ForeignKey(X3PayType, on_delete=models.PROTECT)
    customer = models.ForeignKey(X3Customer, on_delete=models.PROTECT, related_name="payments")
    accdat = models.DateField()
    cur = models.CharField(max_length=3)
    amtcur = models.DecimalField(**MONEY)
    ref = models.CharField(max_length=30, blank=True, db_index=True)
    des = models.CharField(max_length=50, blank=True)
    ban = models.CharField(max_length=5, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "num"], name="x3payment_unique")]

    def __str__(self) -> str:
        return str(self.num)


class X3PaymentLine(models.Model):
    """PAYMENTD: an amount applied to an invoice, or left on account (no invoice)."""

    payment = models.ForeignKey(X3Payment, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(X3Invoice, null=True, blank=True, on_delete=models.PROTECT)
    amtlin = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return str(self.amtlin)


class X3JournalEntry(FolderScoped):
    """GACCENTRY."""

    num = models.CharField(max_length=20)
    typ = models.CharField(max_length=5)
    accdat = models.DateField()
    cur = models.CharField(max_length=3)
    ref = models.CharField(max_length=30, blank=True, db_index=True)
    desvcr = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "num"], name="x3journalentry_unique")]

    def __str__(self) -> str:
        return str(self.num)


class X3JournalLine(models.Model):
    """GACCENTRYD: SNS 1 debit, -1 credit."""

    entry = models.ForeignKey(X3JournalEntry, on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(X3Account, on_delete=models.PROTECT)
    bpr = models.CharField(max_length=15, blank=True)
    sns = models.SmallIntegerField()
    amtcur = models.DecimalField(**MONEY)
    des = models.CharField(max_length=50, blank=True)

    def __str__(self) -> str:
        return str(self.amtcur)
