"""The pages that tell a payment's, an invoice's and a customer's story (payments.selectors.stories), with
the decisions on them as buttons: each button is the list action of the row's own admin, for that one row
(portal.admin_object_actions), offered only to a role that may run it."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import models
from django.http import HttpRequest, HttpResponse

from customers.admin import CustomerAdmin
from integrations.audit import audit_action_label
from payments.admin.risk import risk_reason_rows
from payments.models import Transaction
from payments.selectors.stories import (
    CUSTOMER_LATEST,
    customer_story_get,
    invoice_applications,
    transaction_story_get,
)
from portal.admin_object_actions import ObjectActionButton, ObjectActionsMixin

REFUNDABLE = (Transaction.Status.APPROVED, Transaction.Status.SETTLED, Transaction.Status.PARTIALLY_REFUNDED)


def refundable(transaction: Transaction) -> bool:
    return transaction.transaction_type in Transaction.PAYMENT_TYPES and transaction.status in REFUNDABLE


def _buttons(
    model_admin: admin.ModelAdmin, request: HttpRequest, row: models.Model | None
) -> list[ObjectActionButton]:
    """The buttons of `row`'s own admin, sending the user back to this page afterwards."""
    if row is None:
        return []
    related_admin = model_admin.admin_site._registry.get(type(row))
    if not isinstance(related_admin, ObjectActionsMixin):
        return []
    return related_admin.object_action_buttons(request, row, next_url=request.path)


class TransactionStoryAdminMixin(ObjectActionsMixin):
    """The payment's page: what PayTrace said, then every section of its story."""

    change_form_template = "admin/payments/transaction/change_form.html"
    object_actions = {"refund_or_void": refundable}

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        transaction = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        context: dict[str, Any] = {}
        if transaction is not None:
            story = transaction_story_get(transaction=transaction)
            context = {
                "story": story,
                "risk_reasons": risk_reason_rows(story.risk) if story.risk else [],
                "risk_buttons": _buttons(self, request, story.risk),  # type: ignore[arg-type]
                "posting_rows": [(p, _buttons(self, request, p)) for p in story.postings],  # type: ignore[arg-type]
                "exception_rows": [(e, _buttons(self, request, e)) for e in story.exceptions],  # type: ignore[arg-type]
                "audit_rows": [(event, audit_action_label(action=event.action)) for event in story.audit],
            }
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})


class InvoiceApplicationsAdminMixin:
    """The invoice's page lists the payments applied to it."""

    change_form_template = "admin/payments/invoice/change_form.html"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        invoice = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        context = {"applications": invoice_applications(invoice=invoice)} if invoice is not None else {}
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})  # type: ignore[misc]


class CustomerMoneyAdmin(CustomerAdmin):
    """The customer's page with its latest invoices and payments. Registered from payments, in place of
    customers' own: customers may not import payments (the layers), payments may extend customers."""

    change_form_template = "admin/customers/customer/change_form.html"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        customer = self.get_object(request, unquote(object_id))
        context = (
            {"customer_story": customer_story_get(customer_id=customer.pk), "latest": CUSTOMER_LATEST}
            if customer is not None
            else {}
        )
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})
