"""The flagged-payment review queue and the risk policy, in the admin (registered from payments.admin)."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from payments.admin.lists import RiskAssessmentListMixin, RiskModelVersionFilter
from payments.models import RiskAssessment, RiskPolicy, Transaction
from payments.risk.rules import DEFAULT_RULES, RULE_LABELS, RiskRulesInvalid, risk_rules_resolve
from payments.risk.services import RiskDecisionRefused, risk_assessment_approve, risk_assessment_reject
from payments.services.refunds import RefundRefused, risk_assessment_reject_and_refund
from portal.admin_lists.filters import date_range
from portal.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin, confirmed_action
from portal.admin_object_actions import ObjectActionsMixin

Status = RiskAssessment.Status
ALL = "all"


class ReviewQueueFilter(admin.SimpleListFilter):
    """Status filter whose default is the queue itself: flagged payments waiting for a decision."""

    title = "status"
    parameter_name = "status__exact"  # the plain field filter's name, so links such as the dashboard's work

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        waiting = [(Status.FLAGGED, "Flagged, awaiting a decision")]
        return [*waiting, *(choice for choice in Status.choices if choice[0] != Status.FLAGGED), (ALL, "All")]

    def _selected(self) -> str:
        return self.value() or Status.FLAGGED

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self._selected() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        selected = self._selected()
        if selected == ALL:
            return queryset
        if selected == Status.FLAGGED:
            # The queue as the dashboard counts it: a declined or voided sale has nothing to hold from the
            # ERP, so its score waits for no one (it stays under "All").
            return queryset.filter(status=selected, transaction__status__in=Transaction.RECEIVED_STATUSES)
        return queryset.filter(status=selected)


def risk_reason_rows(assessment: RiskAssessment) -> list[tuple[str, int, str]]:
    return [
        (
            RULE_LABELS.get(reason.get("code", ""), reason.get("code", "")),
            reason.get("points", 0),
            reason.get("detail", ""),
        )
        for reason in assessment.reasons or []
    ]


def _decide_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    decide: Callable[..., RiskAssessment],
    reason: str,
) -> int:
    decided, refused, not_refunded = 0, [], []
    for assessment in queryset.select_related("transaction").order_by("pk"):
        try:
            decide(assessment=assessment, actor=request.user, reason=reason)
        except RiskDecisionRefused as exc:
            refused.append(str(exc))
            continue
        except RefundRefused as exc:  # rejected and held, but PayTrace did not give the money back
            not_refunded.append(str(exc))
        decided += 1
    if refused:
        modeladmin.message_user(request, f"Not changed: {'; '.join(refused)}", messages.WARNING)
    if not_refunded:
        modeladmin.message_user(
            request, f"Rejected but not refunded: {'; '.join(not_refunded)}", messages.ERROR
        )
    return decided


class RiskAssessmentAdmin(ObjectActionsMixin, RiskAssessmentListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_filter = [date_range("created_at", "scored"), ReviewQueueFilter, RiskModelVersionFilter]
    ordering = ["-score", "created_at"]
    raw_id_fields = ["transaction"]
    fields = [
        "transaction",
        "score",
        "status",
        "reasons_explained",
        "model_version",
        "decided_by",
        "decided_at",
        "decision_reason",
        "created_at",
    ]
    readonly_fields = ["reasons_explained", "created_at"]
    actions = ["approve", "reject", "reject_and_refund"]
    object_actions = dict.fromkeys(actions, lambda assessment: assessment.status == Status.FLAGGED)

    def has_review_permission(self, request: HttpRequest) -> bool:
        # The mirror itself is never edited by hand; deciding is what the reviewer's change right allows.
        return request.user.has_perm("payments.change_riskassessment")

    @admin.display(description="occurred", ordering="transaction__occurred_at")
    def occurred_at(self, obj: RiskAssessment):
        return obj.transaction.occurred_at

    @admin.display(description="reasons")
    def reasons_summary(self, obj: RiskAssessment) -> str:
        return "; ".join(f"{label} +{points}" for label, points, _ in risk_reason_rows(obj)) or "–"

    @admin.display(description="reasons")
    def reasons_explained(self, obj: RiskAssessment) -> str:
        rows = risk_reason_rows(obj)
        if not rows:
            return "No rule fired."
        return format_html("<ul>{}</ul>", format_html_join("", "<li><strong>{}</strong> +{}: {}</li>", rows))

    @confirmed_action(
        description="Approve: release to the ERP",
        done="approved and released to the ERP",
        permissions=("review",),
        with_reason=True,
    )
    def approve(self, request: HttpRequest, queryset: QuerySet, reason: str) -> int:
        return _decide_each(self, request, queryset, decide=risk_assessment_approve, reason=reason)

    @confirmed_action(
        description="Reject: keep held from the ERP",
        done="rejected and kept from the ERP",
        permissions=("review",),
        with_reason=True,
    )
    def reject(self, request: HttpRequest, queryset: QuerySet, reason: str) -> int:
        return _decide_each(self, request, queryset, decide=risk_assessment_reject, reason=reason)

    @confirmed_action(
        description="Reject and void or refund in PayTrace",
        done="rejected (void or refund asked of PayTrace)",
        permissions=("review",),
        with_reason=True,
    )
    def reject_and_refund(self, request: HttpRequest, queryset: QuerySet, reason: str) -> int:
        return _decide_each(self, request, queryset, decide=risk_assessment_reject_and_refund, reason=reason)


class RiskPolicyForm(forms.ModelForm):
    class Meta:
        model = RiskPolicy
        fields = ["flag_threshold", "model_weight", "rules"]
        help_texts = {
            "rules": "Overrides of the code defaults per rule, e.g. "
            '{"velocity_ip": {"limit": 20}, "avs_mismatch": {"weight": 0}}. Rules and their settings: '
            + "; ".join(f"{rule} ({', '.join(settings)})" for rule, settings in DEFAULT_RULES.items())
        }

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        try:
            risk_rules_resolve(rules)
        except RiskRulesInvalid as exc:
            raise forms.ValidationError(str(exc)) from exc
        return rules


class RiskPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = RiskPolicyForm
    list_display = ["flag_threshold", "model_weight", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One policy row: scoring reads the first one.
        return super().has_add_permission(request) and not RiskPolicy.objects.exists()


class RiskModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["version", "algorithm", "trained_at", "training_rows", "is_active"]
    list_filter = ["is_active", "algorithm"]
    search_fields = ["version"]
    # Never rendered nor accepted: only artifacts written by risk_model_train are ever loaded.
    exclude = ["artifact"]
