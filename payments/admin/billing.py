"""Subscription admin actions, each behind a confirmation page; the work is done by services."""

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
from portal.admin_mixins import confirmed_action


@confirmed_action(description="Charge now (due subscriptions only)")
def subscriptions_charge_now_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription], reason: str
) -> int:
    acted, summary = subscriptions_charge_now(
        subscription_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, reason=reason
    )
    modeladmin.message_user(request, f"{len(acted)} due: {summary.as_text()}.")
    return len(acted)


@confirmed_action(description="Cancel subscription", with_reason=True)
def subscriptions_cancel_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription], reason: str
) -> int:
    cancelled = queryset.filter(status__in=CANCELLABLE_STATUSES)
    for subscription in cancelled:
        subscription_cancel(subscription=subscription, actor=request.user, reason=reason)
    return len(cancelled)


@confirmed_action(description="Resume suspended subscription", with_reason=True)
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
