"""State of the PayTrace simulator. Only the brand, the last four and (for include_bin) the first six
digits of a card are kept; never a full card number, a CSC or a bank account number."""

from datetime import time

from django.db import models


class PtAccount(models.Model):
    username = models.CharField(max_length=100, unique=True)
    password_hash = models.CharField(max_length=200)
    integrator_id = models.CharField(max_length=12, blank=True)
    tz_name = models.CharField(max_length=64, default="America/Los_Angeles")
    token_lifetime_seconds = models.PositiveIntegerField(default=7200)
    settle_cutoff = models.TimeField(default=time(17, 0), help_text="Daily batch cut-off, account-local")

    def __str__(self) -> str:
        return self.username


class PtToken(models.Model):
    account = models.ForeignKey(PtAccount, on_delete=models.CASCADE, related_name="tokens")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.account_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class PtCard(models.Model):
    """What a transaction or a vault profile remembers of a payment instrument."""

    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    first6 = models.CharField(max_length=6, blank=True)
    expiration_month = models.PositiveSmallIntegerField(null=True, blank=True)
    expiration_year = models.PositiveSmallIntegerField(null=True, blank=True)
    account_last4 = models.CharField(max_length=4, blank=True, help_text="Bank account, for checks")

    class Meta:
        abstract = True


class PtCustomer(PtCard):
    account = models.ForeignKey(PtAccount, on_delete=models.CASCADE, related_name="customers")
    customer_id = models.CharField(max_length=100)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    email = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "customer_id"], name="ptcustomer_unique_id")
        ]

    def __str__(self) -> str:
        return self.customer_id


class PtBatch(models.Model):
    account = models.ForeignKey(PtAccount, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    settled_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "number"], name="ptbatch_unique_number")]

    def __str__(self) -> str:
        return f"GB{self.number}"


class PtTransaction(PtCard):
    class Kind(models.TextChoices):
        SALE = "SALE", "Sale"
        AUTHORIZATION = "AUTHORIZATION", "Authorization"
        REFUND = "REFUND", "Refund"
        CHECK_SALE = "CHECK SALE", "Check sale"
        CHECK_HOLD = "CHECK HOLD", "Check hold"
        CHECK_REFUND = "CHECK REFUND", "Check refund"

    account = models.ForeignKey(PtAccount, on_delete=models.CASCADE, related_name="transactions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    authorized_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    response_code = models.PositiveSmallIntegerField()
    status_code = models.CharField(max_length=12, help_text="Y / N / GB<batch>")
    status_message = models.CharField(max_length=100)
    approval_code = models.CharField(max_length=6, blank=True)
    approval_message = models.CharField(max_length=100, blank=True)
    avs_response = models.CharField(max_length=40, blank=True)
    csc_response = models.CharField(max_length=20, blank=True)
    customer_id = models.CharField(max_length=100, blank=True)
    invoice_id = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=255, blank=True)
    customer_reference_id = models.CharField(max_length=50, blank=True)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    email = models.CharField(max_length=200, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    original = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    batch = models.ForeignKey(
        PtBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    created_at = models.DateTimeField(db_index=True)
    created_by = models.CharField(max_length=100)
    from_ip = models.CharField(max_length=45, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "status_code"], name="pttransaction_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"

    @property
    def is_check(self) -> bool:
        return self.kind.startswith("CHECK")


class PtRecurrence(models.Model):
    """A stored schedule; the simulator never runs it."""

    account = models.ForeignKey(PtAccount, on_delete=models.CASCADE, related_name="recurrences")
    customer = models.ForeignKey(PtCustomer, on_delete=models.CASCADE, related_name="recurrences")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    frequency = models.CharField(max_length=20)
    start_date = models.DateField()
    total_count = models.PositiveIntegerField(default=999)
    transaction_type = models.CharField(max_length=20, default="Sale")
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"recurrence {self.pk} of {self.customer_id}"
