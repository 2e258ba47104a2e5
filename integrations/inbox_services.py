"""Human actions on the webhook inbox: put a failed or dead event back for the next drain."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.audit import audit_record
from integrations.models import WebhookEvent
from portal.lifecycle import status_transition

Status = WebhookEvent.Status
REQUEUEABLE = (Status.FAILED, Status.DEAD)


def webhook_event_requeue(
    *, event: WebhookEvent, actor: AbstractBaseUser | None = None, reason: str = ""
) -> WebhookEvent:
    """The drain (every minute) picks it up again. A dead event used its whole attempt budget, so it gets a
    fresh one; the count it had and its last error stay in the audit trail."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        before = {
            "status": event.status,
            "attempt_count": event.attempt_count,
            "last_error": event.last_error,
        }
        status_transition(
            instance=event,
            to_status=Status.PENDING,
            next_attempt_at=None,
            attempt_count=0 if event.status == Status.DEAD else event.attempt_count,
        )
        audit_record(action="webhook_event.requeue", subject=event, actor=actor, reason=reason, data=before)
    return event
