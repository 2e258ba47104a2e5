from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from integrations.admin.alerts import AlertAcknowledgeAdminMixin
from integrations.admin.connections import ConnectionCheckAdminMixin, ConnectionHealthAdminMixin
from integrations.admin.lists import ErpPostingAttemptListMixin, ErpPostingListMixin, WebhookEventListMixin
from integrations.admin.mappings import MappingTransferAdminMixin
from integrations.admin.queues import CANCELLABLE, PostingQueueAdminMixin, WebhookQueueAdminMixin
from integrations.admin.subjects import ActionFilter, SubjectAdminMixin, SubjectTypeFilter
from integrations.connection_services import connection_credentials_settle
from integrations.inbox_services import REQUEUEABLE
from integrations.models import (
    Alert,
    AuditEvent,
    Connection,
    CurrencyRate,
    ErpPosting,
    ErpPostingAttempt,
    FieldDefault,
    GLAccountRule,
    MappingSnapshot,
    PaymentMethodMapping,
    StatusMapping,
    SyncCursor,
    WebhookEvent,
)
from portal.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from portal.admin_object_actions import ObjectActionsMixin


class ConnectionForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        help_text="Changing it clears the stored credentials unless you enter them again below.",
    )
    credentials_update = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "autocomplete": "off"}),
        label="Replace credentials",
        help_text='JSON, e.g. {"username": "...", "password": "..."}. Leave blank to keep what is stored. '
        "Stored encrypted; never shown back.",
    )
    credentials_cleared = False  # set by save(): the admin then says so

    class Meta:
        model = Connection
        fields = ["name", "system", "environment", "base_url", "is_active", "options"]

    def clean_credentials_update(self) -> dict | None:
        value = self.cleaned_data.get("credentials_update")
        if value in (None, "", {}):
            return None
        if not isinstance(value, dict) or not all(isinstance(v, str | int) for v in value.values()):
            raise forms.ValidationError("Credentials must be a JSON object of names to string values.")
        return value

    def save(self, commit: bool = True) -> Connection:
        self.credentials_cleared = connection_credentials_settle(
            connection=self.instance, credentials=self.cleaned_data.get("credentials_update")
        )
        return super().save(commit=commit)


@admin.register(Connection)
class ConnectionAdmin(
    AuditedAdminMixin, ConnectionCheckAdminMixin, ConnectionHealthAdminMixin, admin.ModelAdmin
):
    form = ConnectionForm
    list_display = [
        "name",
        "system",
        "environment",
        "base_url",
        "is_active",
        "health",
        "last_check_ok",
        "last_checked_at",
    ]
    list_filter = ["system", "environment", "is_active", "last_check_ok"]
    search_fields = ["name", "base_url"]
    readonly_fields = [
        "stored_credentials",
        "last_checked_at",
        "last_check_ok",
        "last_check_message",
        *ConnectionHealthAdminMixin.health_fields,
    ]
    fields = [
        "name",
        "system",
        "environment",
        "base_url",
        "is_active",
        "options",
        "stored_credentials",
        "credentials_update",
        "last_checked_at",
        "last_check_ok",
        "last_check_message",
        *ConnectionHealthAdminMixin.health_fields,
    ]

    @admin.display(description="Stored credentials")
    def stored_credentials(self, obj: Connection) -> str:
        if not obj.pk or not obj.credentials:
            return "none"
        return ", ".join(f"{key}: set" for key in sorted(obj.credentials))

    def save_model(self, request: HttpRequest, obj: Connection, form: ConnectionForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.credentials_cleared:
            self.message_user(
                request,
                f"The base URL of {obj.name} changed, so its stored credentials were cleared: "
                "enter them again under “Replace credentials”.",
                messages.WARNING,
            )


class ErpPostingAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ErpPostingAttempt
    extra = 0
    fields = ["number", "started_at", "duration_ms", "outcome", "error_code", "error_message"]
    readonly_fields = fields
    show_change_link = True


@admin.register(ErpPosting)
class ErpPostingAdmin(
    ObjectActionsMixin, ErpPostingListMixin, PostingQueueAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    raw_id_fields = ["transaction", "order", "customer", "journal_entry", "credit_memo", "connection"]
    inlines = [ErpPostingAttemptInline]
    object_actions = {
        "replay_dead_letters": lambda posting: posting.status == ErpPosting.Status.DEAD,
        "cancel_postings": lambda posting: posting.status in CANCELLABLE,
    }


@admin.register(ErpPostingAttempt)
class ErpPostingAttemptAdmin(ErpPostingAttemptListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["posting"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(
    ObjectActionsMixin, WebhookEventListMixin, WebhookQueueAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    raw_id_fields = ["transaction"]
    object_actions = {"reprocess_events": lambda event: event.status in REQUEUEABLE}


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["connection", "resource", "position", "last_success_at", "records_seen", "last_error"]
    list_filter = ["resource", "connection__system"]
    search_fields = ["connection__name", "resource"]
    list_select_related = ["connection"]


@admin.register(StatusMapping)
class StatusMappingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["erp", "paytrace_status", "erp_status", "action", "reopen_invoice", "updated_at"]
    list_filter = ["erp", "action"]
    search_fields = ["paytrace_status", "erp_status"]
    list_editable = ["erp_status", "action", "reopen_invoice"]


@admin.register(PaymentMethodMapping)
class PaymentMethodMappingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["erp", "payment_method", "card_brand", "erp_payment_code", "bank_code", "updated_at"]
    list_filter = ["erp", "payment_method"]
    search_fields = ["erp_payment_code", "card_brand", "bank_code"]


@admin.register(GLAccountRule)
class GLAccountRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "erp",
        "purpose",
        "transaction_type",
        "merchant_id",
        "card_brand",
        "account",
        "fee_percent",
        "fee_fixed",
    ]
    list_filter = ["erp", "purpose", "card_brand"]
    search_fields = ["account", "merchant_id", "transaction_type"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["from_currency", "to_currency", "rate", "valid_from"]
    list_filter = ["from_currency", "to_currency"]
    search_fields = ["from_currency", "to_currency"]
    date_hierarchy = "valid_from"


@admin.register(FieldDefault)
class FieldDefaultAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["erp", "document_type", "field", "value", "updated_at"]
    list_filter = ["erp", "document_type"]
    search_fields = ["field", "value"]


@admin.register(Alert)
class AlertAdmin(
    ObjectActionsMixin, AlertAcknowledgeAdminMixin, SubjectAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = [
        "title",
        "severity",
        "subject_link",
        "created_at",
        "emailed_at",
        "acknowledged_by_display",
    ]
    list_filter = ["severity", SubjectTypeFilter, ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "message", "subject_id"]
    date_hierarchy = "created_at"
    list_select_related = ["acknowledged_by"]
    object_actions = {"acknowledge_alerts": lambda alert: alert.acknowledged_at is None}


@admin.register(AuditEvent)
class AuditEventAdmin(SubjectAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "action_label", "subject_link", "reason"]
    list_filter = [ActionFilter, SubjectTypeFilter, ("actor", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["subject_id", "reason", "actor__username", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]


@admin.register(MappingSnapshot)
class MappingSnapshotAdmin(MappingTransferAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["version", "direction", "environment", "source_environment", "actor", "created_at"]
    list_filter = ["direction", "environment"]
    search_fields = ["version"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
