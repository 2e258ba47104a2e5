"""Subscription admin: who may set the terms, and the decisions, each behind a confirmation page; the
work is done by services."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.models import Subscription
from payments.services.subscriptions import (
    CANCELLABLE_STATUSES,
    subscription_cancel,
    subscription_resume,
    subscriptions_charge_now,
)
from portal.admin_mixins import DecideAdminMixin, confirmed_action

TERMS_PERMISSION = "payments.change_subscription_terms"


class SubscriptionTermsAdminMixin(DecideAdminMixin):
    """Adding, editing or deleting a subscription sets what is charged, to whom and when: that needs
    `change_subscription_terms`. The model's change right (a finance reviewer's) is only for the decisions
    below, which go through services; the form is read-only to it and a POST to it is refused."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(TERMS_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(TERMS_PERMISSION)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(TERMS_PERMISSION)


@confirmed_action(description="Charge now (due subscriptions only)", done="charged", permissions=("decide",))
def subscriptions_charge_now_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription], reason: str
) -> int:
    acted, summary = subscriptions_charge_now(
        subscription_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, reason=reason
    )
    modeladmin.message_user(request, f"{len(acted)} due: {summary.as_text()}.")
    return len(acted)


@confirmed_action(
    description="Cancel subscription", done="cancelled", permissions=("decide",), with_reason=True
)
def subscriptions_cancel_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription], reason: str
) -> int:
    cancelled = queryset.filter(status__in=CANCELLABLE_STATUSES)
    for subscription in cancelled:
        subscription_cancel(subscription=subscription, actor=request.user, reason=reason)
    return len(cancelled)


@confirmed_action(
    description="Resume suspended subscription", done="resumed", permissions=("decide",), with_reason=True
)
def subscriptions_resume_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription], reason: str
) -> int:
    suspended = queryset.filter(status=Subscription.Status.SUSPENDED)
    for subscription in suspended:
        subscription_resume(subscription=subscription, actor=request.user, reason=reason)
    return len(suspended)


SUBSCRIPTION_ACTIONS = [
    subscriptions_charge_now_action,
    subscriptions_cancel_action,
    subscriptions_resume_action,
]
