from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q

from integrations.check_reasons import FIXED_REASONS, HTTP_ANSWER_PATTERN
from integrations.drop_folder import connection_drop_folder_validate
from integrations.erps import ERPS
from integrations.fields import EncryptedJSONField
from portal.models import BaseModel

_ERP_CHOICES = [(erp.member, (erp.code, erp.label)) for erp in ERPS]
System = models.TextChoices("System", [("PAYTRACE", ("paytrace", "PayTrace")), *_ERP_CHOICES])
ErpSystem = models.TextChoices("ErpSystem", _ERP_CHOICES)
ERP_SYSTEMS = tuple(ErpSystem.values)


class Environment(models.TextChoices):
    DEV = "dev", "Development"
    QA = "qa", "QA"
    PROD = "prod", "Production"


class Connection(BaseModel):
    """One account on an outside system. Secrets live encrypted in `credentials`; `options` holds the
    rest (company, pool alias, folder, time zone, batch size, transport, timeouts)."""

    name = models.CharField(max_length=100, unique=True)
    system = models.CharField(max_length=20, choices=System.choices)
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.DEV)
    base_url = models.URLField(max_length=500)
    credentials = EncryptedJSONField(help_text="Encrypted at rest; never shown back.")
    options = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_message = models.TextField(blank=True)
    # Health from the calls themselves (integrations.connection_health): when they last worked, and since
    # when they have failed without a success in between, with the classified reason of the last failure.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=60, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    outage_alerted_at = models.DateTimeField(
        null=True, blank=True, help_text="When this outage was alerted; cleared when calls work again."
    )

    class Meta:
        indexes = [models.Index(fields=["system", "environment", "is_active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_check_message__in=("", *FIXED_REASONS))
                | Q(last_check_message__regex=HTTP_ANSWER_PATTERN),
                name="connection_check_message_classified",
            ),
            models.CheckConstraint(
                condition=Q(last_failure_reason__in=("", *FIXED_REASONS))
                | Q(last_failure_reason__regex=HTTP_ANSWER_PATTERN),
                name="connection_failure_reason_classified",
            ),
            models.CheckConstraint(
                condition=Q(outage_alerted_at__isnull=True) | Q(failing_since__isnull=False),
                name="connection_outage_alert_while_failing",
            ),
        ]
        # Not a storefront permission: the health API declares it apart (`monitoring_permission`).
        permissions = [("view_health", "Can read the system health API")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_system_display()}, {self.environment})"

    def clean(self) -> None:
        connection_drop_folder_validate(options=self.options)


class WebhookEvent(BaseModel):
    """Inbox: every signed event is stored before anything is decided about it. The body as received is
    never stored: `payload` is its redacted copy (card numbers masked, card and bank secrets replaced) and
    `body_sha256` proves which body it came from."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead letter"

    TRANSITIONS = {
        Status.PENDING: {Status.PROCESSING},
        Status.PROCESSING: {Status.PROCESSED, Status.FAILED, Status.DEAD, Status.PENDING},
        Status.FAILED: {Status.PROCESSING, Status.PENDING, Status.DEAD},
        Status.DEAD: {Status.PENDING},
        Status.PROCESSED: set(),
    }

    source = models.CharField(max_length=20, default=System.PAYTRACE)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=50)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(
        encoder=DjangoJSONEncoder, help_text="The body, redacted before it was stored."
    )
    body_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the body as received (blank for older events)."
    )
    headers = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    delivery_count = models.PositiveIntegerField(default=1)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey(
        "payments.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_events",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="webhookevent_unique_source_id"),
            models.CheckConstraint(
                condition=Q(body_sha256="") | Q(body_sha256__regex=r"^[0-9a-f]{64}$"),
                name="webhookevent_body_sha256_hex",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhookevent_due_idx"),
            # The inbox list: found by the event's id whatever its source, newest first or by date range.
            models.Index(fields=["event_id"], name="webhookevent_event_id_idx"),
            models.Index(fields=["created_at"], name="webhookevent_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class ErpPosting(BaseModel):
    """Outbox: one document planned for an ERP, carried by our reference until posted or dead."""

    class DocumentType(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        SALES_ORDER = "sales_order", "Sales order"
        RECEIPT = "receipt", "Receipt"
        CREDIT_MEMO = "credit_memo", "Credit memo"
        REVERSAL = "reversal", "Receipt reversal"
        JOURNAL_ENTRY = "journal_entry", "Journal entry"
        INVOICE = "invoice", "Invoice"
        STATUS_NOTE = "status_note", "Payment status write-back"

    class Status(models.TextChoices):
        HELD = "held", "Held for review"
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        RETRYABLE = "retryable", "Waiting to retry"
        POSTED = "posted", "Posted"
        DEAD = "dead", "Dead letter"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.HELD: {Status.PENDING, Status.CANCELLED},
        Status.PENDING: {Status.IN_PROGRESS, Status.HELD, Status.CANCELLED},
        # Back to pending: a claimed row its worker handed back unstarted (its batch's time was spent).
        Status.IN_PROGRESS: {Status.POSTED, Status.RETRYABLE, Status.DEAD, Status.CANCELLED, Status.PENDING},
        Status.RETRYABLE: {Status.IN_PROGRESS, Status.HELD, Status.CANCELLED},
        Status.DEAD: {Status.PENDING, Status.CANCELLED},
        Status.POSTED: set(),
        Status.CANCELLED: set(),
    }

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="postings")
    document_type = models.CharField(max_length=20, choices=DocumentType.choices)
    reference = models.CharField(max_length=60, help_text="Our reference, written into the ERP document.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    erp_document_number = models.CharField(max_length=60, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=60, blank=True)
    last_error = models.TextField(blank=True)
    transaction = models.ForeignKey(
        "payments.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    order = models.ForeignKey(
        "payments.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    journal_entry = models.ForeignKey(
        "payments.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    credit_memo = models.ForeignKey(
        "payments.CreditMemo", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    depends_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependents",
        help_text="The receipt this document reverses or offsets: it is not sent before that one is settled.",
    )
    # Copied from the transaction by a PostgreSQL trigger (migration posting_lag_columns), so the dashboard
    # reads the posting lag of a window from one index, not through a join to every transaction.
    transaction_occurred_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "ERP posting"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "document_type", "reference"], name="erpposting_unique_reference"
            ),
            models.CheckConstraint(condition=~Q(depends_on=F("pk")), name="erpposting_not_own_dependency"),
            models.CheckConstraint(
                condition=~Q(status="posted") | ~Q(erp_document_number=""),
                name="erpposting_posted_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="erpposting_due_idx"),
            models.Index(fields=["reference"], name="erpposting_reference_idx"),
            # The dashboard's 30-day windows: postings finished per connection, and the posting lag.
            models.Index(
                fields=["status", "created_at"], include=["connection"], name="erpposting_finished_idx"
            ),
            models.Index(
                fields=["posted_at"],
                include=["transaction", "transaction_occurred_at"],
                condition=Q(status="posted"),
                name="erpposting_posted_idx",
            ),
            models.Index(fields=["erp_document_number"], name="erpposting_docnumber_idx"),
        ]

    def __str__(self) -> str:
        number = f", ERP number {self.erp_document_number}" if self.erp_document_number else ""
        state = self.get_status_display().lower()
        return f"{self.get_document_type_display()} {self.reference} ({state}{number})"


class ErpPostingAttempt(models.Model):
    class Outcome(models.TextChoices):
        POSTED = "posted", "Posted"
        FOUND_EXISTING = "found_existing", "Already in the ERP"
        TRANSIENT = "transient", "Transient error"
        PERMANENT = "permanent", "Permanent error"
        CRASHED = "crashed", "Unexpected exception"

    posting = models.ForeignKey(ErpPosting, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    request = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True, help_text="Redacted")
    response = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True, help_text="Redacted")
    # The posting's connection, copied by a PostgreSQL trigger (migration posting_lag_columns): the
    # dashboard counts a window's attempts per connection from one index, without joining the postings.
    connection = models.ForeignKey(
        Connection,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="+",
    )

    class Meta:
        verbose_name = "ERP posting attempt"
        constraints = [models.UniqueConstraint(fields=["posting", "number"], name="erpattempt_unique_number")]
        # The dashboard's 30-day attempt success rate reads the window's attempts from this index alone.
        indexes = [
            models.Index(
                fields=["started_at"],
                include=["posting", "outcome", "connection"],
                name="erpattempt_started_idx",
            )
        ]
        ordering = ["posting_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.posting_id}: {self.outcome}"


class SyncCursor(BaseModel):
    """High-water mark of one incremental read (resource) from one connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    resource = models.CharField(max_length=50)
    position = models.DateTimeField(null=True, blank=True)
    overlap_seconds = models.PositiveIntegerField(default=600)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    records_seen = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "resource"], name="synccursor_unique")]

    def __str__(self) -> str:
        return f"{self.connection.name}:{self.resource}"


# --- Mapping tables: edited by finance, promoted dev -> qa -> prod as versioned JSON ----------------


class StatusMapping(BaseModel):
    class Action(models.TextChoices):
        RECEIPT = "receipt", "Post a receipt"
        CREDIT_MEMO = "credit_memo", "Post a credit memo"
        REVERSAL = "reversal", "Reverse the receipt"
        JOURNAL_ENTRY = "journal_entry", "Post a journal entry"
        # A declined or failed payment: its erp_status written on the invoice / order / customer.
        STATUS_NOTE = "status_note", "Write the status to the ERP"
        NONE = "none", "Post nothing"

    erp = models.CharField(max_length=20, choices=ErpSystem.choices)
    paytrace_status = models.CharField(max_length=30)
    erp_status = models.CharField(max_length=30)
    action = models.CharField(max_length=20, choices=Action.choices)
    reopen_invoice = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["erp", "paytrace_status"], name="statusmapping_unique"),
            # Only a declined (or failed) payment has a status to write back; any other row posts documents.
            models.CheckConstraint(
                condition=~Q(action="status_note") | Q(paytrace_status="declined"),
                name="statusmapping_status_note_declined",
            ),
        ]
        ordering = ["erp", "paytrace_status"]

    def __str__(self) -> str:
        return f"{self.erp}: {self.paytrace_status} → {self.erp_status}"


class PaymentMethodMapping(BaseModel):
    erp = models.CharField(max_length=20, choices=ErpSystem.choices)
    payment_method = models.CharField(max_length=10, choices=[("card", "Card"), ("ach", "ACH")])
    card_brand = models.CharField(max_length=20, blank=True, help_text="Blank matches any brand.")
    currency = models.CharField(
        max_length=3,
        blank=True,
        help_text="Receipts in this currency use this row's bank; blank matches any currency.",
    )
    erp_payment_code = models.CharField(max_length=20)
    bank_code = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["erp", "payment_method", "card_brand", "currency"], name="paymentmethodmap_unique"
            )
        ]
        ordering = ["erp", "payment_method", "card_brand", "currency"]

    def __str__(self) -> str:
        return (
            f"{self.erp}: {self.payment_method} {self.card_brand or '*'} {self.currency or '*'}"
            f" → {self.erp_payment_code}"
        )


class GLAccountRule(BaseModel):
    class Purpose(models.TextChoices):
        CASH = "cash", "Cash / bank"
        CLEARING = "clearing", "Card clearing"
        RECEIVABLE = "receivable", "Receivables"
        REVENUE = "revenue", "Revenue"
        REFUNDS = "refunds", "Refunds"
        FEES = "fees", "Processing fees"
        CHARGEBACKS = "chargebacks", "Chargebacks"
        WRITE_OFF = "write_off", "Write-off"
        UNAPPLIED = "unapplied", "Unapplied cash"

    erp = models.CharField(max_length=20, choices=ErpSystem.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    transaction_type = models.CharField(max_length=20, blank=True, help_text="Blank matches any type.")
    merchant_id = models.CharField(max_length=40, blank=True, help_text="Blank matches any merchant.")
    card_brand = models.CharField(max_length=20, blank=True, help_text="Blank matches any brand.")
    product_category = models.CharField(
        max_length=40, blank=True, help_text="An order line's product category; blank matches any."
    )
    account = models.CharField(max_length=40)
    fee_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    fee_fixed = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = "GL account rule"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "erp",
                    "purpose",
                    "transaction_type",
                    "merchant_id",
                    "card_brand",
                    "product_category",
                ],
                name="glrule_unique",
            ),
            models.CheckConstraint(
                condition=Q(fee_percent__gte=0, fee_fixed__gte=0), name="glrule_fees_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["erp", "purpose"], name="glrule_lookup_idx")]
        ordering = ["erp", "purpose", "transaction_type", "merchant_id", "card_brand", "product_category"]

    def __str__(self) -> str:
        return f"{self.erp}: {self.purpose} → {self.account}"


class CurrencyRate(BaseModel):
    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    valid_from = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "valid_from"], name="currencyrate_unique"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="currencyrate_positive"),
        ]
        ordering = ["from_currency", "to_currency", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.from_currency}/{self.to_currency} {self.rate} from {self.valid_from}"


class FieldDefault(BaseModel):
    erp = models.CharField(max_length=20, choices=ErpSystem.choices)
    document_type = models.CharField(max_length=20, blank=True, help_text="Blank applies to every document.")
    field = models.CharField(max_length=40)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["erp", "document_type", "field"], name="fielddefault_unique")
        ]
        ordering = ["erp", "document_type", "field"]

    def __str__(self) -> str:
        return f"{self.erp}.{self.document_type or '*'}.{self.field} = {self.value}"


class MappingSnapshot(BaseModel):
    """A versioned export or import of every mapping table, so a set tested in QA is promoted as a unit."""

    class Direction(models.TextChoices):
        EXPORT = "export", "Exported"
        IMPORT = "import", "Imported"

    version = models.CharField(max_length=64, help_text="SHA-256 of the canonical content")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    environment = models.CharField(max_length=10, choices=Environment.choices)
    source_environment = models.CharField(max_length=10, blank=True)
    content = models.JSONField(encoder=DjangoJSONEncoder)
    diff = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["version"], name="mappingsnapshot_version_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.version[:12]} ({self.environment})"


# --- Alerts and the audit trail -----------------------------------------------------------------------


class Alert(BaseModel):
    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"
        CRITICAL = "critical", "Critical"

    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=60, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="alert_subject_idx"),
            models.Index(fields=["acknowledged_at"], name="alert_open_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    action = models.CharField(max_length=60, db_index=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=60)
    reason = models.TextField(blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type}:{self.subject_id}"
