"""Admin actions for refunds, undoing applications and reconciliation exceptions. Each asks for
confirmation (and a reason), calls one service, and the service writes the AuditEvent."""

from decimal import Decimal

from django import forms
from django.contrib import messages

from integrations.sage.mapping import MappingMissing
from integrations.selectors import ConnectionMissing
from payments.models import Transaction
from payments.services.allocations import allocation_undo
from payments.services.reconciliation_review import (
    reconciliation_exception_link,
    reconciliation_exception_resolve,
    reconciliation_exception_write_off,
    reconciliation_write_off_preview,
)
from payments.services.refunds import RefundRefused, transaction_refund_start
from portal.admin_mixins import ActionForm, confirmed_action, form_action


class RefundForm(ActionForm):
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="Blank: all that is left. Before settlement only the whole amount can be voided.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


class LinkForm(ActionForm):
    transaction_id = forms.CharField(label="PayTrace transaction id", max_length=40)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def clean_transaction_id(self) -> Transaction:
        transaction = Transaction.objects.filter(
            transaction_id=self.cleaned_data["transaction_id"].strip()
        ).first()
        if transaction is None:
            raise forms.ValidationError("No transaction has this id.")
        return transaction


def refund_target_words(transaction: Transaction) -> str:
    """The payment as a refund decides it: how much, whose, for what, and what is left to give back."""
    customer = transaction.customer.name if transaction.customer_id else "no customer on file"
    invoice = f"invoice {transaction.invoice_reference}" if transaction.invoice_reference else "no invoice"
    return (
        f"{transaction.get_transaction_type_display()} {transaction.transaction_id}: "
        f"{transaction.amount} {transaction.currency} from {customer}, for {invoice}, "
        f"card {transaction.card_brand or 'of unknown brand'} ending {transaction.last4 or '----'}"
    )


@form_action(description="Refund or void", form_class=RefundForm, single=True, describe=refund_target_words)
def refund_or_void(modeladmin, request, queryset, data) -> str:
    try:
        outcome = transaction_refund_start(
            transaction=queryset.get(), amount=data["amount"], reason=data["reason"], actor=request.user
        )
    except RefundRefused as refused:
        raise ValueError(str(refused)) from refused
    return f"Done: {outcome} ({outcome.get_status_display()})."


@confirmed_action(
    description="Undo these applications (and in the ERP)",
    done="undone here and in the ERP",
    permissions=("decide",),
    with_reason=True,
)
def undo_allocations(modeladmin, request, queryset, reason) -> int:
    active = queryset.filter(reversed_at__isnull=True).select_related("invoice", "payment")
    for allocation in active:
        allocation_undo(allocation=allocation, actor=request.user, reason=reason)
    return len(active)


@confirmed_action(
    description="Resolve",
    done="resolved",
    permissions=("decide",),
    with_reason=True,
    describe=lambda exception: f"{exception} — {exception.reason}",
)
def resolve_exceptions(modeladmin, request, queryset, reason) -> int:
    chosen = list(queryset.filter(status="open"))
    for exception in chosen:
        reconciliation_exception_resolve(exception=exception, actor=request.user, reason=reason)
    return len(chosen)


@confirmed_action(
    description="Write off to the write-off account",
    done="written off with a journal entry",
    permissions=("decide",),
    with_reason=True,
    describe=lambda exception: reconciliation_write_off_preview(exception=exception),
)
def write_off_exceptions(modeladmin, request, queryset, reason) -> int:
    done = 0
    for exception in queryset.filter(status="open").exclude(difference=0):
        try:
            reconciliation_exception_write_off(exception=exception, actor=request.user, reason=reason)
        except (MappingMissing, ConnectionMissing) as error:
            modeladmin.message_user(request, f"{exception}: {error}", messages.ERROR)
        else:
            done += 1
    return done


@form_action(description="Link to a transaction by hand", form_class=LinkForm, single=True)
def link_exception(modeladmin, request, queryset, data) -> str:
    exception = reconciliation_exception_link(
        exception=queryset.get(),
        transaction=data["transaction_id"],
        actor=request.user,
        reason=data["reason"],
    )
    return f"Linked to {exception.transaction.transaction_id}."
