"""System checks for settings that, if wrong, lose or duplicate money movements silently."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def django_q_timeouts_check(app_configs, **kwargs):
    conf = settings.Q_CLUSTER
    errors = []
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if not timeout or not retry or timeout >= retry:
        errors.append(
            Error(
                "Q_CLUSTER timeout must be set and lower than retry, or a slow task is delivered twice.",
                id="paysage.E001",
            )
        )
    if not 0 < conf.get("max_attempts", 0) <= 10:
        errors.append(Error("Q_CLUSTER max_attempts must be between 1 and 10.", id="paysage.E003"))
    if conf.get("ack_failures"):
        errors.append(
            Error("Q_CLUSTER ack_failures must stay off so a crashed task is retried.", id="paysage.E004")
        )
    return errors


@register(Tags.security, deploy=True)
def paysage_secrets_check(app_configs, **kwargs):
    warnings = []
    if settings.IS_PROD and settings.SANDBOX:
        warnings.append(
            Warning("SANDBOX is on in production: the simulators are mounted.", id="paysage.W001")
        )
    return warnings


@register(Tags.security, deploy=True)
def secret_settings_check(app_configs, **kwargs):
    """The secrets production-like environments refuse at start, checked whatever PAYSAGE_ENV says."""
    from portal.deploy_secrets import secret_settings_problems

    problems = secret_settings_problems(
        secret_key=settings.SECRET_KEY,
        webhook_secret=settings.PAYTRACE_WEBHOOK_SECRET,
        field_encryption_key=settings.FIELD_ENCRYPTION_KEY,
    )
    return [Error(problem, id="paysage.E020") for problem in problems]


@register(Tags.compatibility)
def task_timeouts_check(app_configs, **kwargs):
    from portal.queue import task_timeouts_invalid

    return [
        Error(
            f"Task {spec.path} has timeout {spec.timeout}s, not below Q_CLUSTER retry.",
            id="paysage.E005",
        )
        for spec in task_timeouts_invalid()
    ]


@register(Tags.compatibility)
def task_queues_check(app_configs, **kwargs):
    from portal.queue import QUEUES

    return [
        Error(f"TASK_QUEUES names {name!r}, not a task queue ({', '.join(QUEUES)}).", id="paysage.E006")
        for name in settings.TASK_QUEUES
        if name not in QUEUES
    ]
