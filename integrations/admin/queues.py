"""Review-queue behaviour of the outbox and inbox admins: dead letters shown with what the ERP said and
where to fix it, then replayed, cancelled or reprocessed, each decision through a service and audited."""

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integrations.inbox_services import REQUEUEABLE, webhook_event_requeue
from integrations.models import (
    ERP_SYSTEMS,
    CurrencyRate,
    ErpPosting,
    FieldDefault,
    GLAccountRule,
    PaymentMethodMapping,
    StatusMapping,
    WebhookEvent,
)
from integrations.outbox.services import posting_cancel, postings_replay_dead
from portal.admin_mixins import LeadingDisplaysMixin, confirmed_action

RESPONSE_SHOWN_CHARS = 4000
# Waiting or dead postings may be cancelled; one in progress belongs to a worker, and a held one is the
# risk reviewer's decision.
CANCELLABLE = (ErpPosting.Status.DEAD, ErpPosting.Status.RETRYABLE, ErpPosting.Status.PENDING)
PER_ERP_MAPPINGS = (StatusMapping, PaymentMethodMapping, GLAccountRule, FieldDefault)


def _changelist(model: type, query: str = "") -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{query}" if query else url


def _each_in(queryset: QuerySet, *, statuses: tuple[str, ...], decide: Callable[[Any], Any]) -> int:
    """Apply one decision to the selected rows it fits, one service call (and audit row) each."""
    rows = list(queryset.filter(status__in=statuses).order_by("pk"))
    for row in rows:
        decide(row)
    return len(rows)


class PostingQueueAdminMixin(LeadingDisplaysMixin):
    """Dead-letter postings: the ERP's message, links to the mapping tables, replay and cancel."""

    actions = ["replay_dead_letters", "cancel_postings"]
    leading_displays = ("erp_message", "mapping_tables")

    @admin.display(description="What the ERP said")
    def erp_message(self, obj: ErpPosting) -> str:
        if not obj.last_error and not obj.last_error_code:
            return "–"
        attempt = obj.attempts.order_by("-number").first()
        response = json.dumps(attempt.response, indent=1, default=str) if attempt and attempt.response else ""
        # The poster usually prefixes the message with its code already.
        code = "" if f"[{obj.last_error_code}]" in obj.last_error else obj.last_error_code
        return format_html(
            '<p class="erp-message"><strong>{}</strong> {}</p>{}',
            code,
            obj.last_error,
            format_html(
                "<details><summary>Last response</summary><pre>{}</pre></details>",
                response[:RESPONSE_SHOWN_CHARS],
            )
            if response
            else "",
        )

    @admin.display(description="Mapping tables")
    def mapping_tables(self, obj: ErpPosting) -> str:
        erp = obj.connection.system
        links = [
            (
                _changelist(model, f"erp__exact={erp}" if erp in ERP_SYSTEMS else ""),
                model._meta.verbose_name_plural,
            )
            for model in PER_ERP_MAPPINGS
        ]
        links.append((_changelist(CurrencyRate), CurrencyRate._meta.verbose_name_plural))
        return format_html(
            '<ul class="mapping-links">{}</ul><p class="help">Fix the row the message names, then replay.'
            "</p>",
            format_html_join("", '<li><a href="{}">{}</a></li>', links),
        )

    @confirmed_action(
        description="Replay dead letters",
        done="sent back to be posted",
        permissions=("decide",),
        with_reason=True,
        describe=lambda posting: f"{posting} — {posting.last_error or 'no error recorded'}",
    )
    def replay_dead_letters(self, request: HttpRequest, queryset: QuerySet[ErpPosting], reason: str) -> int:
        ids = list(queryset.values_list("pk", flat=True))
        return postings_replay_dead(actor=request.user, reason=reason, pk__in=ids)

    @confirmed_action(
        description="Cancel postings", done="cancelled", permissions=("decide",), with_reason=True
    )
    def cancel_postings(self, request: HttpRequest, queryset: QuerySet[ErpPosting], reason: str) -> int:
        return _each_in(
            queryset,
            statuses=CANCELLABLE,
            decide=lambda posting: posting_cancel(posting=posting, actor=request.user, reason=reason),
        )


class WebhookQueueAdminMixin:
    """Failed and dead inbox events go back to the drain."""

    actions = ["reprocess_events"]

    @confirmed_action(
        description="Reprocess events",
        done="queued to be processed again",
        permissions=("decide",),
        with_reason=True,
    )
    def reprocess_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent], reason: str) -> int:
        return _each_in(
            queryset,
            statuses=REQUEUEABLE,
            decide=lambda event: webhook_event_requeue(event=event, actor=request.user, reason=reason),
        )
