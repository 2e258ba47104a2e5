"""The PayTrace webhook endpoint: verify, store, answer. Processing happens in the inbox drain.

Under gunicorn the same intake is served by `integrations/webhook_wsgi.py` ahead of Django's middleware;
this view serves it everywhere else (runserver, tests)."""

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.webhooks import BODY_TOO_LARGE, webhook_intake


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def paytrace_webhook(request: HttpRequest) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        answer = BODY_TOO_LARGE
    else:
        answer = webhook_intake(
            body=body, headers=request.headers, remote_addr=request.META.get("REMOTE_ADDR")
        )
    return JsonResponse(answer.body, status=answer.status)
