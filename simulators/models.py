from django.db import models


class System(models.TextChoices):
    """The systems simulated here, named as the portal's connections name them; the wire is all they share."""

    PAYTRACE = "paytrace", "PayTrace"
    SAGE_X3 = "sage_x3", "Sage X3"
    SAGE_300 = "sage_300", "Sage 300"
    SAGE_PRO = "sage_pro", "Sage Pro"


class FaultProfile(models.Model):
    """Faults a simulator injects for one account (PayTrace user, Sage 300 company, X3 pool alias,
    Sage Pro API key); a blank account applies to every account of that system.

    Rates are drawn per call; the `*_next` counters are consumed one per call first, so tests can
    ask for exactly "the next two calls time out"."""

    system = models.CharField(max_length=20, choices=System.choices)
    account = models.CharField(max_length=100, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(
        default=0.0, help_text="Share of calls answered with a 5xx / transient error."
    )
    timeout_rate = models.FloatField(default=0.0, help_text="Share of calls that hang without being applied.")
    applied_timeout_rate = models.FloatField(
        default=0.0, help_text="Share of writes applied, then answered too late (the client times out)."
    )
    hang_seconds = models.FloatField(default=3.0, help_text="How long a 'timeout' hangs before answering.")
    error_next = models.PositiveIntegerField(default=0)
    timeout_next = models.PositiveIntegerField(default=0)
    applied_timeout_next = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "account"], name="faultprofile_unique")]

    def __str__(self) -> str:
        return f"{self.system}:{self.account or '*'}"
