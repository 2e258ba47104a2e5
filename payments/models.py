from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from customers.models import Customer
from integrations.models import Connection
from portal.models import BaseModel

ZERO = Decimal("0")


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class Transaction(BaseModel):
    """Mirror of one PayTrace transaction, keyed by its PayTrace id. Status only moves forward."""

    class Type(models.TextChoices):
        SALE = "sale", "Sale"
        AUTHORIZATION = "authorization", "Authorization"
        REFUND = "refund", "Refund"
        ACH_SALE = "ach_sale", "ACH sale"
        ACH_HOLD = "ach_hold", "ACH hold"
        ACH_REFUND = "ach_refund", "ACH refund"
        CHARGEBACK = "chargeback", "Chargeback"

    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"
        APPROVED = "approved", "Approved, pending settlement"
        SETTLED = "settled", "Settled"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        CHARGED_BACK = "charged_back", "Charged back"
        VOIDED = "voided", "Voided"
        DECLINED = "declined", "Declined"

    TRANSITIONS = {
        Status.AUTHORIZED: {Status.APPROVED, Status.SETTLED, Status.VOIDED},
        Status.APPROVED: {Status.SETTLED, Status.VOIDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED},
        Status.SETTLED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.CHARGED_BACK},
        Status.PARTIALLY_REFUNDED: {Status.REFUNDED, Status.CHARGED_BACK},
        Status.REFUNDED: set(),
        Status.CHARGED_BACK: set(),
        Status.VOIDED: set(),
        Status.DECLINED: set(),
    }

    # Types that take money from the customer, and those that give it back.
    PAYMENT_TYPES = frozenset({Type.SALE, Type.AUTHORIZATION, Type.ACH_SALE, Type.ACH_HOLD})
    REFUND_TYPES = frozenset({Type.REFUND, Type.ACH_REFUND})
    # Money has moved (or will at settlement) for these: the ERP needs a receipt.
    RECEIVED_STATUSES = frozenset(
        {Status.APPROVED, Status.SETTLED, Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.CHARGED_BACK}
    )

    class PaymentMethod(models.TextChoices):
        CARD = "card", "Card"
        ACH = "ach", "ACH"

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="transactions")
    transaction_id = models.CharField(max_length=40)
    transaction_type = models.CharField(max_length=20, choices=Type.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    payment_method = models.CharField(
        max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    amount_refunded = money_field(default=ZERO)
    amount_applied = money_field(default=ZERO, help_text="Applied to invoices through allocations")
    original = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The sale a refund, void or chargeback belongs to",
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
    )
    paytrace_customer_id = models.CharField(max_length=100, blank=True)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
    )
    invoice_reference = models.CharField(max_length=60, blank=True, help_text="PayTrace invoice_id")
    description = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    approval_code = models.CharField(max_length=20, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    status_message = models.CharField(max_length=255, blank=True)
    avs_response = models.CharField(max_length=60, blank=True)
    csc_response = models.CharField(max_length=60, blank=True)
    paytrace_status_code = models.CharField(max_length=20, blank=True, help_text="Y / N / GB<batch>")
    settlement_batch = models.ForeignKey(
        "SettlementBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
    )
    merchant_id = models.CharField(max_length=40, blank=True)
    billing_name = models.CharField(max_length=200, blank=True)
    billing_postal_code = models.CharField(max_length=20, blank=True)
    billing_country = models.CharField(max_length=2, blank=True)
    email = models.EmailField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    decision_pending = models.BooleanField(
        default=False,
        help_text="Set with every change the upsert makes, cleared once the decide step (risk, postings) has"
        " run for it: a worker that dies in between leaves it set, and the change is decided again.",
    )
    raw = models.JSONField(
        encoder=DjangoJSONEncoder, default=dict, blank=True, help_text="Last PayTrace record, redacted"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "transaction_id"], name="transaction_unique_external"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="transaction_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount")),
                name="transaction_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_applied__gte=0, amount_applied__lte=F("amount")),
                name="transaction_applied_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction_id"], name="transaction_external_idx"),
            models.Index(fields=["status", "occurred_at"], name="transaction_status_idx"),
            # Also the list's search by customer name: a customer's payment ids read from the index alone.
            models.Index(fields=["customer", "occurred_at"], include=["id"], name="transaction_customer_idx"),
            models.Index(fields=["invoice_reference"], name="transaction_invoice_ref_idx"),
            models.Index(fields=["occurred_at"], name="transaction_occurred_idx"),
            # Risk scoring's velocity lookups: the same card, or the same IP, in a recent window.
            models.Index(fields=["card_brand", "last4", "occurred_at"], name="transaction_card_idx"),
            models.Index(fields=["ip_address", "occurred_at"], name="transaction_ip_idx"),
            models.Index(
                fields=["updated_at"], condition=Q(decision_pending=True), name="transaction_undecided_idx"
            ),
            # The dashboard: payments taken per day and currency, read from the index alone.
            models.Index(
                fields=["occurred_at"],
                include=["currency", "amount"],
                condition=Q(transaction_type__in=["sale", "ach_sale"])
                & ~Q(status__in=["declined", "voided"]),
                name="transaction_volume_idx",
            ),
            # The dashboard's unapplied total: only money taken and not yet applied, refunded or voided.
            models.Index(
                fields=["currency"],
                include=["amount", "amount_refunded", "amount_applied"],
                condition=Q(
                    transaction_type__in=["sale", "ach_sale"],
                    status__in=["approved", "settled", "partially_refunded"],
                    amount__gt=F("amount_refunded") + F("amount_applied"),
                ),
                name="transaction_unapplied_idx",
            ),
            # The list's search by last four, amount and email (as iexact compares it), and its sort by
            # amount. Its search by billing name uses a trigram index (migration transaction_search_indexes).
            models.Index(fields=["last4"], name="transaction_last4_idx"),
            models.Index(fields=["amount"], name="transaction_amount_idx"),
            models.Index(Upper("email"), name="transaction_email_upper_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_transaction_type_display()} {self.transaction_id} {self.amount} {self.currency}"


class Order(BaseModel):
    """A storefront order on its way to an ERP sales order and a posted receipt."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        CUSTOMER_SYNCED = "customer_synced", "Customer synced"
        ORDER_CREATED = "order_created", "Sales order created"
        PAID = "paid", "Paid"
        POSTED = "posted", "Receipt posted"
        FAILED = "failed", "Failed"
        ON_HOLD = "on_hold", "On hold"
        # The money went back: the payment was voided, or refunded in part or in full.
        VOIDED = "voided", "Payment voided"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    # A void or a refund can come at any point of the flow; after one, the happy path's late effects
    # change nothing, and only a further refund moves the order on.
    _MONEY_BACK = {Status.VOIDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED}
    TRANSITIONS = {
        Status.RECEIVED: {Status.CUSTOMER_SYNCED, Status.FAILED, Status.ON_HOLD, *_MONEY_BACK},
        Status.CUSTOMER_SYNCED: {Status.ORDER_CREATED, Status.FAILED, Status.ON_HOLD, *_MONEY_BACK},
        Status.ORDER_CREATED: {Status.PAID, Status.FAILED, Status.ON_HOLD, *_MONEY_BACK},
        Status.PAID: {Status.POSTED, Status.FAILED, Status.ON_HOLD, *_MONEY_BACK},
        Status.ON_HOLD: {
            Status.RECEIVED,
            Status.CUSTOMER_SYNCED,
            Status.ORDER_CREATED,
            Status.PAID,
            Status.FAILED,
            *_MONEY_BACK,
        },
        Status.FAILED: {
            Status.RECEIVED,
            Status.CUSTOMER_SYNCED,
            Status.ORDER_CREATED,
            Status.PAID,
            *_MONEY_BACK,
        },
        Status.POSTED: _MONEY_BACK,
        Status.PARTIALLY_REFUNDED: {Status.REFUNDED},
        Status.VOIDED: set(),
        Status.REFUNDED: set(),
    }

    order_id = models.CharField(max_length=60, unique=True, help_text="The storefront's order id")
    erp_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    status_reason = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    total = money_field()
    erp_order_number = models.CharField(max_length=60, blank=True)
    paytrace_transaction_id = models.CharField(max_length=40, blank=True)
    invoice_number = models.CharField(max_length=60, blank=True)
    callback_url = models.URLField(
        max_length=500, blank=True, help_text="The storefront's URL each status change is POSTed to, signed."
    )
    request_body = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="order_total_non_negative")]
        indexes = [
            models.Index(fields=["status", "created_at"], name="order_status_idx"),
            models.Index(fields=["paytrace_transaction_id"], name="order_paytrace_txn_idx"),
            # The invoice sync finds an ERP invoice's order by the number the ERP gave it.
            models.Index(fields=["erp_connection", "erp_order_number"], name="order_erp_number_idx"),
        ]

    def __str__(self) -> str:
        return self.order_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    sku = models.CharField(max_length=60)
    description = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = money_field()
    amount = money_field()
    category = models.CharField(max_length=40, blank=True, help_text="The storefront's product category.")
    gl_account = models.CharField(
        max_length=40, blank=True, help_text="Revenue account the GL rules give this line's category."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, amount__gte=0), name="orderline_money_non_negative"
            ),
        ]
        ordering = ["order_id", "line_number"]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class OrderEvent(models.Model):
    """The order's status history as the storefront sees it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"


class RefundRequest(BaseModel):
    """A storefront's refund request, kept by its id so that sending it again (from any web process) makes
    no second refund: the database's unique constraint is the lock."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="refund_requests")
    request_id = models.CharField(max_length=60)
    sale = models.ForeignKey("Transaction", on_delete=models.PROTECT, related_name="refund_requests")
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the sale, amount and reason asked")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    outcome = models.ForeignKey(
        "Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The refund or void PayTrace made, or the sale itself when it was voided.",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "request_id"], name="refundrequest_unique_per_connection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.get_status_display()})"


class Invoice(BaseModel):
    """Mirror of an open (or once-open) ERP receivable invoice."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    TRANSITIONS = {
        Status.OPEN: {Status.PARTIALLY_PAID, Status.PAID, Status.VOID},
        Status.PARTIALLY_PAID: {Status.OPEN, Status.PAID, Status.VOID},
        Status.PAID: {Status.PARTIALLY_PAID, Status.OPEN},
        Status.VOID: set(),
    }

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="invoices")
    invoice_number = models.CharField(max_length=60)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    reference = models.CharField(
        max_length=60, blank=True, help_text="Order / storefront reference on the invoice"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3, default="USD")
    amount = money_field()
    balance = money_field()
    issued_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "invoice_number"], name="invoice_unique_external"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(balance__gte=0, balance__lte=F("amount")), name="invoice_balance_within_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "due_on"], name="invoice_open_by_customer_idx"),
            models.Index(fields=["reference"], name="invoice_reference_idx"),
            models.Index(fields=["invoice_number"], name="invoice_number_idx"),
            models.Index(fields=["amount"], name="invoice_amount_idx"),
            # The list sorted by date, either way (the admin adds the id as the last key).
            models.Index(fields=["issued_on", "id"], name="invoice_issued_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.balance}/{self.amount} {self.currency})"


class Allocation(models.Model):
    """One application of a payment to an invoice. The per-row amount is positive; the totals are
    held by `Transaction.amount_applied` and `Invoice.balance`, whose check constraints make an
    over-application fail in the database."""

    class Rule(models.TextChoices):
        REFERENCE = "reference", "By reference"
        OLDEST_OPEN = "oldest_open", "Oldest open invoice first"
        MANUAL = "manual", "By hand"

    payment = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field(help_text="In the invoice's currency: what the ERP application carries.")
    currency = models.CharField(max_length=3)
    # Set only when the payment is in another currency than the invoice: what of the payment this
    # application took, and the rate (with where it was read) that turned one into the other.
    payment_amount = money_field(null=True, blank=True)
    rate = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True)
    rate_source = models.CharField(max_length=200, blank=True)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(payment_amount__isnull=True, rate__isnull=True, rate_source="")
                | Q(payment_amount__gt=0, rate__gt=0, rate_source__gt=""),
                name="allocation_conversion_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["payment"], name="allocation_payment_idx"),
            models.Index(fields=["invoice"], name="allocation_invoice_idx"),
            models.Index(fields=["amount"], name="allocation_amount_idx"),
            models.Index(fields=["created_at"], name="allocation_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id} → {self.invoice_id}"

    @property
    def paid_amount(self) -> Decimal:
        """What of the payment, in its own currency, this application took."""
        return self.amount if self.payment_amount is None else self.payment_amount


class CurrencyConversion(models.Model):
    """A receipt posted in another currency than its payment: the amounts on both sides, the rate, and
    where the rate was read (the ERP's rate table, or Paysage's currency rates)."""

    posting = models.OneToOneField(
        "integrations.ErpPosting", on_delete=models.CASCADE, related_name="currency_conversion"
    )
    from_currency = models.CharField(max_length=3)
    from_amount = money_field()
    to_currency = models.CharField(max_length=3)
    to_amount = money_field()
    rate = models.DecimalField(max_digits=18, decimal_places=10)
    operation = models.CharField(max_length=8, choices=[("multiply", "Multiply"), ("divide", "Divide")])
    rate_date = models.DateField()
    source = models.CharField(max_length=200)
    converted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="currencyconversion_rate_positive"),
            models.CheckConstraint(
                condition=~Q(from_currency=F("to_currency")), name="currencyconversion_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.from_amount} {self.from_currency} → {self.to_amount} {self.to_currency} ({self.source})"
        )


class SettlementBatch(BaseModel):
    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        RECONCILED = "reconciled", "Reconciled"
        EXCEPTIONS = "exceptions", "Has exceptions"

    TRANSITIONS = {
        Status.IMPORTED: {Status.RECONCILED, Status.EXCEPTIONS},
        Status.EXCEPTIONS: {Status.RECONCILED, Status.IMPORTED},
        Status.RECONCILED: {Status.IMPORTED},
    }

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="settlement_batches")
    batch_number = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IMPORTED)
    settled_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    transaction_count = models.PositiveIntegerField(default=0)
    sales_amount = money_field(default=ZERO)
    refund_amount = money_field(default=ZERO)
    net_amount = money_field(default=ZERO, help_text="As reported by PayTrace")
    fee_amount = money_field(default=ZERO)
    deposit_amount = money_field(default=ZERO)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "batch_number"], name="settlementbatch_unique_external"
            ),
            models.CheckConstraint(
                condition=Q(sales_amount__gte=0, refund_amount__gte=0, fee_amount__gte=0),
                name="settlementbatch_amounts_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["status", "settled_at"], name="settlementbatch_status_idx")]
        verbose_name_plural = "settlement batches"

    def __str__(self) -> str:
        return f"Batch {self.batch_number}"


class CreditMemo(BaseModel):
    """A refund as the ERP will see it: a credit note against the original sale's invoice."""

    refund = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="credit_memo")
    original = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_memos_as_original"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_memos"
    )
    amount = money_field()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True)
    erp_document_number = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="creditmemo_amount_positive")]
        indexes = [
            models.Index(fields=["erp_document_number"], name="creditmemo_docnumber_idx"),
            models.Index(fields=["amount"], name="creditmemo_amount_idx"),
        ]

    def __str__(self) -> str:
        return f"Credit memo for {self.refund.transaction_id}"


class JournalEntry(BaseModel):
    class Kind(models.TextChoices):
        CHARGEBACK = "chargeback", "Chargeback"
        FEES = "fees", "Processing fees"
        NET_DEPOSIT = "net_deposit", "Net deposit"
        WRITE_OFF = "write_off", "Write-off"
        REVERSAL = "reversal", "Reversal"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    reference = models.CharField(max_length=60, unique=True)
    erp_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="journal_entries")
    entry_date = models.DateField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=255, blank=True)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    settlement_batch = models.ForeignKey(
        SettlementBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    erp_document_number = models.CharField(max_length=60, blank=True)

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=["kind", "entry_date"], name="journalentry_kind_idx"),
            models.Index(fields=["erp_document_number"], name="journalentry_docnumber_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"


class JournalEntryLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    account = models.CharField(max_length=40)
    debit = money_field(default=ZERO)
    credit = money_field(default=ZERO)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_number"], name="journalline_unique_number"),
            models.CheckConstraint(
                condition=Q(debit__gte=0, credit__gte=0) & (Q(debit=0) | Q(credit=0)),
                name="journalline_one_side_non_negative",
            ),
        ]
        ordering = ["entry_id", "line_number"]

    def __str__(self) -> str:
        return f"{self.account} Dr {self.debit} Cr {self.credit}"


class Subscription(BaseModel):
    class Interval(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        YEARLY = "yearly", "Yearly"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due (dunning)"
        SUSPENDED = "suspended", "Suspended"
        CANCELLED = "cancelled", "Cancelled"
        ENDED = "ended", "Ended"

    TRANSITIONS = {
        Status.ACTIVE: {Status.PAST_DUE, Status.CANCELLED, Status.ENDED},
        Status.PAST_DUE: {Status.ACTIVE, Status.SUSPENDED, Status.CANCELLED},
        Status.SUSPENDED: {Status.ACTIVE, Status.CANCELLED},
        Status.CANCELLED: set(),
        Status.ENDED: set(),
    }

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    paytrace_connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="subscriptions"
    )
    erp_connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="erp_subscriptions"
    )
    paytrace_customer_id = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTHLY)
    next_run_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    dunning_schedule_days = models.JSONField(
        encoder=DjangoJSONEncoder, default=list, blank=True, help_text="Retry offsets, e.g. [1, 3, 7]"
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="subscription_amount_positive")]
        indexes = [models.Index(fields=["status", "next_run_on"], name="subscription_due_idx")]
        # "change" is the finance reviewer's right to decide (charge now, cancel, resume); setting what is
        # charged, to whom and when is this separate right, which no role carries.
        permissions = [
            ("change_subscription_terms", "Can set a subscription's terms (amount, customer, schedule)")
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.amount} {self.currency} {self.interval}"


class SubscriptionCharge(BaseModel):
    """One billing period of a subscription; unique per period so it is charged at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CHARGING = "charging", "Charging"
        CHARGED = "charged", "Charged"
        DECLINED = "declined", "Declined, retry scheduled"
        FAILED = "failed", "Failed after retries"

    TRANSITIONS = {
        Status.PENDING: {Status.CHARGING},
        Status.CHARGING: {Status.CHARGED, Status.DECLINED, Status.FAILED, Status.PENDING},
        Status.DECLINED: {Status.CHARGING, Status.FAILED},
        Status.CHARGED: set(),
        Status.FAILED: set(),
    }

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="charges")
    period_start = models.DateField()
    amount = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_retry_on = models.DateField(null=True, blank=True)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="subscription_charges"
    )
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="subscriptioncharge_once_per_period"
            )
        ]
        indexes = [models.Index(fields=["status", "next_retry_on"], name="subscriptioncharge_retry_idx")]

    def __str__(self) -> str:
        return f"{self.subscription_id} period {self.period_start}: {self.status}"


class RiskAssessment(BaseModel):
    class Status(models.TextChoices):
        CLEARED = "cleared", "Cleared"
        FLAGGED = "flagged", "Flagged for review"
        APPROVED = "approved", "Approved by reviewer"
        REJECTED = "rejected", "Rejected by reviewer"

    TRANSITIONS = {
        Status.CLEARED: {Status.FLAGGED},
        Status.FLAGGED: {Status.APPROVED, Status.REJECTED},
        Status.APPROVED: set(),
        Status.REJECTED: {Status.APPROVED},
    }

    transaction = models.OneToOneField(Transaction, on_delete=models.CASCADE, related_name="risk")
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(encoder=DjangoJSONEncoder, default=list, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__lte=100), name="riskassessment_score_range")]
        indexes = [
            # The queue (one status), highest score first, in the list's full order (the admin adds -id).
            models.Index(fields=["status", "-score", "created_at", "-id"], name="riskassessment_queue_idx"),
            # The list of every assessment, in its order (highest score first).
            models.Index(fields=["-score", "created_at"], name="riskassessment_score_idx"),
        ]

    def __str__(self) -> str:
        # Read with select_related("transaction__customer") wherever many are shown.
        payment = self.transaction
        payer = payment.customer or payment.billing_name or "an unknown customer"
        return (
            f"{payment.get_transaction_type_display()} {payment.transaction_id} of {payment.currency} "
            f"{payment.amount} from {payer}: score {self.score}, {self.get_status_display().lower()}"
        )


class ReconciliationException(BaseModel):
    """A difference found while reconciling, waiting for finance to resolve it."""

    class Kind(models.TextChoices):
        MISSING_IN_ERP = "missing_in_erp", "Settled but not posted to the ERP"
        MISSING_FROM_BATCH = "missing_from_batch", "Posted but missing from the batch"
        AMOUNT_MISMATCH = "amount_mismatch", "Amount differs"
        DUPLICATE = "duplicate", "Duplicate"
        FEE_MISMATCH = "fee_mismatch", "Fees differ from the rules"
        TOTAL_MISMATCH = "total_mismatch", "Batch total differs"
        UNAPPLIED_PAYMENT = "unapplied_payment", "Payment matched no invoice"
        CHARGEBACK = "chargeback", "Chargeback to review"
        NET_MISMATCH = "net_mismatch", "ERP net differs from PayTrace net"
        INVOICE_DRIFT = "invoice_drift", "Invoice differs from the ERP"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        WRITTEN_OFF = "written_off", "Written off"

    TRANSITIONS = {
        Status.OPEN: {Status.RESOLVED, Status.WRITTEN_OFF},
        Status.RESOLVED: {Status.OPEN},
        Status.WRITTEN_OFF: set(),
    }

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    settlement_batch = models.ForeignKey(
        SettlementBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="exceptions"
    )
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reconciliation_exceptions"
    )
    currency = models.CharField(max_length=3, default="USD")
    expected_amount = money_field(null=True, blank=True)
    reported_amount = money_field(null=True, blank=True)
    difference = money_field(default=ZERO)
    reason = models.TextField()
    dedup_key = models.CharField(max_length=120, unique=True, help_text="One open question per thing found")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    write_off_account = models.CharField(max_length=40, blank=True)
    journal_entry = models.ForeignKey(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reconciliation_exceptions",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "kind"], name="reconexception_queue_idx")]

    def __str__(self) -> str:
        # Read with select_related("transaction", "settlement_batch") wherever many are shown.
        found_in = (
            f"transaction {self.transaction.transaction_id}"
            if self.transaction_id
            else str(self.settlement_batch)
            if self.settlement_batch_id
            else "no transaction"
        )
        return f"{self.get_kind_display()}: {self.currency} {self.difference} on {found_in}"


class RiskPolicy(BaseModel):
    """Finance-editable scoring policy: one row. Rule weights and limits live in `rules`."""

    flag_threshold = models.PositiveSmallIntegerField(
        default=60, help_text="Scores at or above are held for review"
    )
    model_weight = models.PositiveSmallIntegerField(default=30, help_text="Points the anomaly model may add")
    rules = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)

    class Meta:
        verbose_name_plural = "risk policy"
        constraints = [
            models.CheckConstraint(
                condition=Q(flag_threshold__lte=100, model_weight__lte=100), name="riskpolicy_range"
            )
        ]

    def __str__(self) -> str:
        return f"Flag at {self.flag_threshold}"


class RiskModelVersion(BaseModel):
    """An anomaly model trained on the merchant's own history, kept with its training date and version."""

    version = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=60)
    trained_at = models.DateTimeField()
    training_rows = models.PositiveIntegerField()
    feature_names = models.JSONField(encoder=DjangoJSONEncoder, default=list)
    parameters = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    metrics = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    artifact = models.BinaryField(help_text="The fitted model, serialised")
    is_active = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="riskmodel_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.version}"


class CallbackDelivery(BaseModel):
    """Outbox of status changes for storefronts: one row per order event, POSTed signed to the order's
    callback URL, retried with backoff until delivered or dead (then alerted and audited)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYABLE = "retryable", "Retrying"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="callback_deliveries")
    event = models.OneToOneField(OrderEvent, on_delete=models.CASCADE, related_name="callback_delivery")
    url = models.URLField(max_length=500)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="callback_delivered_when",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} → {self.payload.get('status', '')} ({self.get_status_display()})"


class UnappliedTotalDelta(models.Model):
    """A change to the dashboard's unapplied total: money taken (a sale or ACH sale approved, settled or
    partially refunded) and not yet applied to invoices or refunded. A PostgreSQL trigger on Transaction
    (migration unapplied_total_deltas) writes one row per currency for each statement that changes the
    total, in that statement's own database transaction, whatever service wrote it. Rows are only ever
    inserted, so concurrent writers never wait for each other on a running-total row; the dashboard sums
    them (`payments.selectors.unapplied`), and `unapplied_totals_compact` folds them into one row per
    currency every few minutes. `manage.py unapplied_totals_rebuild` writes them again from the payments."""

    currency = models.CharField(max_length=3)
    payments = models.BigIntegerField()
    amount = models.DecimalField(max_digits=20, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.currency} {self.payments:+} {self.amount:+}"
