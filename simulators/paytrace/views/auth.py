"""`/oauth/token` (password grant, form-urlencoded or JSON) and `/v1/ping`."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from simulators.paytrace.endpoint import json_object
from simulators.paytrace.services.accounts import pt_token_issue
from simulators.paytrace.wire import pt_json

INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used "
    "in the authorization request, or was issued to another client."
)


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    form = (
        request.POST if request.content_type == "application/x-www-form-urlencoded" else json_object(request)
    )
    form = form or {}
    if form.get("grant_type") != "password":
        return pt_json(
            {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported.",
            },
            status=400,
        )
    issued = pt_token_issue(
        username=str(form.get("username") or ""), password=str(form.get("password") or "")
    )
    if issued is None:
        return pt_json({"error": "invalid_grant", "error_description": INVALID_GRANT}, status=400)
    access_token, row = issued
    return pt_json(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": row.account.token_lifetime_seconds,
            "created_at": int(row.created_at.timestamp()),
        },
        headers={"Cache-Control": "no-store"},
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def ping(request: HttpRequest) -> HttpResponse:
    return pt_json({"success": True, "status_message": "pong"})
