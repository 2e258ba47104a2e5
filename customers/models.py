from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from integrations.models import Connection
from portal.models import BaseModel


class Customer(BaseModel):
    """Our record of a customer, linked to its id in each system through CustomerLink.

    `field_updated_at` keeps, per synced field, the source timestamp of the value we hold, so an edit in
    either system wins field by field only when it is newer."""

    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True, db_index=True, editable=False)
    name_normalized = models.CharField(max_length=200, blank=True, editable=False)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    currency = models.CharField(max_length=3, default="USD")
    field_updated_at = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True, editable=False)
    merged_erp_ids = models.JSONField(
        encoder=DjangoJSONEncoder,
        default=list,
        blank=True,
        editable=False,
        help_text="Ids of customers merged into this one that the ERP still holds apart, until finance "
        "merges them there: [{connection, system, external_id, merged_customer, merged_at}].",
    )

    class Meta:
        # Searched by email as iexact compares it; by name and company through trigram indexes (migration
        # customer_search_indexes).
        indexes = [
            models.Index(fields=["name_normalized", "postal_code"], name="customer_name_postal_idx"),
            models.Index(Upper("email"), name="customer_email_upper_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class CustomerLink(BaseModel):
    """The customer's id in one system: PayTrace customer id (the payment token) or an ERP number."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="links")
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="customer_links")
    external_id = models.CharField(max_length=100)
    external_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(
        encoder=DjangoJSONEncoder, default=dict, blank=True, help_text="Last payload, redacted"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"], name="customerlink_unique_external"
            ),
            models.UniqueConstraint(
                fields=["customer", "connection"], name="customerlink_one_per_connection"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection.name}:{self.external_id}"


class DuplicateCandidate(BaseModel):
    """Two customers that may be one; never merged without a person deciding."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SAME = "same", "Same customer"
        DIFFERENT = "different", "Different customers"

    TRANSITIONS = {Status.OPEN: {Status.SAME, Status.DIFFERENT}, Status.SAME: set(), Status.DIFFERENT: set()}

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="duplicate_candidates")
    other = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="duplicate_unique_pair"),
            models.CheckConstraint(
                condition=Q(customer__lt=models.F("other")), name="duplicate_ordered_pair"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="duplicate_status_idx")]

    def __str__(self) -> str:
        # Read with select_related("customer", "other") wherever many are shown.
        return f"{self.customer} and {self.other} may be one customer ({self.reason})"
