"""Failed logins and lockouts in the audit trail, and the page a locked-out login sees.

django-axes counts the failures (per username and client address) and locks; this module only records
what it did, so an auditor reads brute-force attempts next to every other decision."""

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.audit import audit_record
from integrations.models import AuditEvent
from portal.pci import card_numbers_mask

LOCKOUT_TEMPLATE = "registration/lockout.html"


def login_username(request: HttpRequest, credentials: dict | None) -> str:
    """The username axes counts and stores (AXES_USERNAME_CALLABLE): a card number typed into the
    username field is stored masked, like everything else that comes in."""
    field = settings.AXES_USERNAME_FORM_FIELD
    typed = credentials.get(field) if credentials else request.POST.get(field)
    return card_numbers_mask(str(typed or ""))


def login_event_audit(*, action: str, username: str, ip_address: str) -> AuditEvent | None:
    """One audit row about the attempts of `username` from `ip_address`, whose record (axes' counter)
    is the subject. None when axes keeps no record (a request it does not watch)."""
    attempt = (
        AccessAttempt.objects.filter(username=username, ip_address=ip_address)
        .order_by("-attempt_time")
        .first()
    )
    if attempt is None:
        return None
    return audit_record(
        action=action,
        subject=attempt,
        # A card number typed into the username field is still a card number.
        data={
            "username": card_numbers_mask(username),
            "ip_address": ip_address,
            "failures": attempt.failures_since_start,
        },
    )


def login_failed_receiver(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    # authenticate() called without a request (a shell, a command) is not a login form: axes ignores it.
    if request is None or not hasattr(request, "axes_ip_address"):
        return
    username = get_client_username(request, credentials) or ""
    login_event_audit(action="login.failed", username=username, ip_address=request.axes_ip_address)


def login_locked_out_receiver(sender, request: HttpRequest, username: str, ip_address: str, **kwargs) -> None:
    # axes signals every attempt refused during a lockout; the audit notes the lockout once, as it begins.
    if getattr(request, "axes_failures_since_start", None) == settings.AXES_FAILURE_LIMIT:
        login_event_audit(action="login.locked_out", username=username or "", ip_address=ip_address)


def login_lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The admin's look, and the cool-off in minutes rather than axes' ISO 8601 duration."""
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, LOCKOUT_TEMPLATE, context, status=429)
