"""State of the Sage Pro simulator: one `SproSite` per company data set, SBT/FoxPro-style tables below it.

Field names follow the upper-case FoxPro columns of the gateway contract (see
`integrations.sage.sagepro.contract`) in lower case: `custno` is CUSTNO, `glacnt` is GLACNT.
"""

from django.db import models
from django.db.models import F, Q

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}


class SproSite(models.Model):
    site = models.CharField(max_length=10, unique=True)
    api_key = models.CharField(max_length=100, unique=True)
    company = models.CharField(max_length=60, blank=True)
    fault_status = models.PositiveSmallIntegerField(
        default=503, help_text="Status of an injected fault: 503 unavailable or 423 (FoxPro table locked)."
    )

    def __str__(self) -> str:
        return self.site


class SproSequence(models.Model):
    """Next document numbers, like SBT's SYSDATA counters; locked row by row while a number is taken."""

    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=20)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="spro_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class SproCustomer(models.Model):
    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="customers")
    custno = models.CharField(max_length=10)
    company = models.CharField(max_length=40)
    address1 = models.CharField(max_length=40, blank=True)
    address2 = models.CharField(max_length=40, blank=True)
    city = models.CharField(max_length=20, blank=True)
    state = models.CharField(max_length=10, blank=True)
    zip = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=60, blank=True)
    terms = models.CharField(max_length=20, blank=True)
    creditlmt = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3, default="USD")
    reference = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "custno"], name="spro_customer_unique")]
        indexes = [models.Index(fields=["site", "updated_at"], name="spro_customer_updated_idx")]

    def __str__(self) -> str:
        return self.custno


class SproItem(models.Model):
    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="items")
    item = models.CharField(max_length=20)
    descrip = models.CharField(max_length=40, blank=True)
    price = models.DecimalField(default=0, **MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "item"], name="spro_item_unique")]

    def __str__(self) -> str:
        return self.item


class SproStock(models.Model):
    item = models.ForeignKey(SproItem, on_delete=models.CASCADE, related_name="stock")
    loctid = models.CharField(max_length=6)
    onhand = models.DecimalField(default=0, **QUANTITY)
    alloc = models.DecimalField(default=0, **QUANTITY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "loctid"], name="spro_stock_unique"),
            models.CheckConstraint(condition=Q(alloc__lte=F("onhand")), name="spro_stock_alloc_le_onhand"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.loctid}"


class SproGlAccount(models.Model):
    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="gl_accounts")
    glacnt = models.CharField(max_length=10)
    descrip = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "glacnt"], name="spro_glaccount_unique")]

    def __str__(self) -> str:
        return self.glacnt


class SproInvoice(models.Model):
    """An AR document: an invoice (IN) or a credit memo (CM, negative amount and balance)."""

    class DocType(models.TextChoices):
        INVOICE = "IN", "Invoice"
        CREDIT_MEMO = "CM", "Credit memo"

    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="invoices")
    invno = models.CharField(max_length=10)
    doctype = models.CharField(max_length=2, choices=DocType.choices, default=DocType.INVOICE)
    customer = models.ForeignKey(SproCustomer, on_delete=models.PROTECT, related_name="invoices")
    invdate = models.DateField()
    duedate = models.DateField(null=True, blank=True)
    invamt = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    ponum = models.CharField(max_length=30, blank=True)
    reference = models.CharField(max_length=30, blank=True)
    glacct = models.CharField(max_length=10, blank=True)
    applinvno = models.CharField(max_length=10, blank=True)
    descript = models.CharField(max_length=60, blank=True)
    # The invoice's payment status (contract: PAYSTATUS, e.g. "Payment Failed"), set by a payment note.
    paystatus = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "invno"], name="spro_invoice_unique"),
            # An invoice never goes below zero; a credit memo's open credit never goes above zero.
            models.CheckConstraint(
                condition=Q(doctype="IN", balance__gte=0) | Q(doctype="CM", balance__lte=0),
                name="spro_invoice_balance_sign",
            ),
        ]
        indexes = [models.Index(fields=["site", "customer", "balance"], name="spro_invoice_open_idx")]

    def __str__(self) -> str:
        return self.invno


class SproReceipt(models.Model):
    """An AR cash receipt (ARCASH). A reversal is its own row with a negative PAYAMT."""

    class Status(models.TextChoices):
        POSTED = "POSTED", "Posted"
        REVERSED = "REVERSED", "Reversed"
        REVERSAL = "REVERSAL", "Reversal"

    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="receipts")
    rcptno = models.CharField(max_length=10)
    customer = models.ForeignKey(SproCustomer, on_delete=models.PROTECT, related_name="receipts")
    checkno = models.CharField(max_length=20)
    paydate = models.DateField()
    payamt = models.DecimalField(**MONEY)
    unapplied = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3, default="USD")
    paycode = models.CharField(max_length=10, blank=True)
    bankno = models.CharField(max_length=10, blank=True)
    glacct = models.CharField(max_length=10, blank=True)
    batch = models.CharField(max_length=10, blank=True)
    descript = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "rcptno"], name="spro_receipt_unique"),
            # The duplicate check of the cash receipts import: same customer, check number and amount.
            models.UniqueConstraint(
                fields=["site", "customer", "checkno", "payamt"], name="spro_receipt_no_dup"
            ),
        ]
        indexes = [models.Index(fields=["site", "checkno"], name="spro_receipt_checkno_idx")]

    def __str__(self) -> str:
        return self.rcptno


class SproApplication(models.Model):
    receipt = models.ForeignKey(SproReceipt, on_delete=models.CASCADE, related_name="applications")
    invoice = models.ForeignKey(SproInvoice, on_delete=models.PROTECT, related_name="applications")
    amount = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"


class SproOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open, fully allocated"
        BACKORDER = "BACKORDER", "Open with backorders"

    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="orders")
    sono = models.CharField(max_length=10)
    customer = models.ForeignKey(SproCustomer, on_delete=models.PROTECT, related_name="orders")
    orddate = models.DateField()
    ponum = models.CharField(max_length=30)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "sono"], name="spro_order_unique"),
            models.UniqueConstraint(fields=["site", "ponum"], name="spro_order_ponum_unique"),
        ]

    def __str__(self) -> str:
        return self.sono


class SproOrderLine(models.Model):
    order = models.ForeignKey(SproOrder, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(SproItem, on_delete=models.PROTECT)
    loctid = models.CharField(max_length=6)
    qtyord = models.DecimalField(**QUANTITY)
    qtyalloc = models.DecimalField(**QUANTITY)
    qtyback = models.DecimalField(**QUANTITY)
    price = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.item_id} x {self.qtyord}"


class SproGlBatch(models.Model):
    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="gl_batches")
    batch = models.CharField(max_length=10)
    trandate = models.DateField()
    reference = models.CharField(max_length=30)
    descript = models.CharField(max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "batch"], name="spro_glbatch_unique"),
            models.UniqueConstraint(fields=["site", "reference"], name="spro_glbatch_reference_unique"),
        ]

    def __str__(self) -> str:
        return self.batch


class SproGlLine(models.Model):
    batch = models.ForeignKey(SproGlBatch, on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(SproGlAccount, on_delete=models.PROTECT)
    debit = models.DecimalField(default=0, **MONEY)
    credit = models.DecimalField(default=0, **MONEY)
    descript = models.CharField(max_length=60, blank=True)

    def __str__(self) -> str:
        return f"{self.account_id} {self.debit}/{self.credit}"


class SproPaymentNote(models.Model):
    """A payment status written against an invoice, else an order, else a customer (contract:
    paymentnotes). Writing one sets its invoice's PAYSTATUS."""

    site = models.ForeignKey(SproSite, on_delete=models.CASCADE, related_name="payment_notes")
    noteno = models.CharField(max_length=10)
    customer = models.ForeignKey(SproCustomer, on_delete=models.PROTECT, related_name="payment_notes")
    invoice = models.ForeignKey(
        SproInvoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_notes"
    )
    order = models.ForeignKey(
        SproOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_notes"
    )
    paystatus = models.CharField(max_length=20)
    note = models.CharField(max_length=254, blank=True)
    reference = models.CharField(max_length=30)
    notedate = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "noteno"], name="spro_paynote_unique"),
            models.UniqueConstraint(fields=["site", "reference"], name="spro_paynote_reference_unique"),
        ]

    def __str__(self) -> str:
        return self.noteno
