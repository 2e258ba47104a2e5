"""Alerts: a row finance can see at once, then delivery by email and webhook outside the transaction."""

import logging

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from integrations.audit import audit_record
from integrations.models import Alert
from portal.pci import card_numbers_mask
from portal.queue import task_enqueue

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 10


def alert_raise(
    *,
    title: str,
    message: str = "",
    severity: str = Alert.Severity.ERROR,
    subject: models.Model | None = None,
) -> Alert:
    alert = Alert.objects.create(
        title=card_numbers_mask(title)[:200],
        message=card_numbers_mask(message),
        severity=severity,
        subject_type=subject._meta.model_name if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
    )
    logger.warning("alert %s: %s", alert.pk, alert.title)
    if settings.ALERT_EMAILS or settings.ALERT_WEBHOOK_URL:
        task_enqueue("integrations.tasks.alert_deliver", alert.pk)
    return alert


def alert_deliver(*, alert: Alert) -> None:
    """Send the alert by email and to the alert webhook; each channel is sent at most once."""
    errors = []
    if settings.ALERT_EMAILS and alert.emailed_at is None:
        try:
            send_mail(
                subject=f"[Paysage {alert.severity}] {alert.title}",
                message=alert.message or alert.title,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=settings.ALERT_EMAILS,
            )
            alert.emailed_at = timezone.now()
        except Exception as exc:  # noqa: BLE001 - a failed channel is recorded on the alert, not raised
            errors.append(f"email: {exc}")
    if settings.ALERT_WEBHOOK_URL and alert.webhook_sent_at is None:
        body = {
            "id": alert.pk,
            "severity": alert.severity,
            "title": alert.title,
            "message": alert.message,
            "subject_type": alert.subject_type,
            "subject_id": alert.subject_id,
            "created": alert.created_at.isoformat(),
        }
        try:
            response = requests.post(settings.ALERT_WEBHOOK_URL, json=body, timeout=WEBHOOK_TIMEOUT_SECONDS)
            response.raise_for_status()
            alert.webhook_sent_at = timezone.now()
        except requests.RequestException as exc:
            errors.append(f"webhook: {exc}")
    alert.delivery_error = "; ".join(errors)
    alert.save(update_fields=["emailed_at", "webhook_sent_at", "delivery_error", "updated_at"])


def alert_acknowledge(*, alert: Alert, actor: AbstractBaseUser, note: str = "") -> bool:
    """Mark the alert as seen by `actor`, once: False when someone acknowledged it first."""
    with transaction.atomic():
        now = timezone.now()
        acknowledged = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=actor, updated_at=now
        )
        if acknowledged:
            alert.acknowledged_at, alert.acknowledged_by = now, actor
            audit_record(action="alert.acknowledge", subject=alert, actor=actor, reason=note)
    return bool(acknowledged)
