"""Key rotation for stored credentials: every encrypted value moved onto the first FIELD_ENCRYPTION_KEY.

Values already under the first key are left as they are, so a run after an interrupted one finishes the
job and a second run writes nothing. The tokens are rewritten as stored (MultiFernet.rotate keeps their
timestamp); the plaintext never leaves this module."""

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from integrations.fields import EncryptedJSONField, field_fernets

Progress = Callable[[str, int, int], None]


@dataclass
class ReencryptOutcome:
    reencrypted: int = 0
    current: int = 0
    undecryptable: list[str] = field(default_factory=list)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    return [
        (model, model_field)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, EncryptedJSONField)
    ]


def credentials_reencrypt(*, progress: Progress | None = None) -> ReencryptOutcome:
    """Re-encrypt every stored credential with the first key; `progress(label, done, total)` after each row.
    Raises ImproperlyConfigured when a key of FIELD_ENCRYPTION_KEY is not a Fernet key."""
    fernets = field_fernets()
    first, every = fernets[0], MultiFernet(fernets)
    outcome = ReencryptOutcome()
    for model, model_field in encrypted_fields():
        manager = model._default_manager
        # The stored token as text: through the field itself it would come back decrypted.
        token = Cast(model_field.attname, output_field=models.TextField())
        pks = list(manager.order_by("pk").values_list("pk", flat=True))
        label = f"{model._meta.verbose_name_plural} ({model_field.name})"
        for done, pk in enumerate(pks, start=1):
            with transaction.atomic():
                stored = (
                    manager.select_for_update()
                    .filter(pk=pk)
                    .annotate(token=token)
                    .values_list("token", flat=True)
                ).first()
                try:
                    rotated = _token_rotated(stored=stored or "", first=first, every=every)
                except InvalidToken:
                    outcome.undecryptable.append(f"{model._meta.model_name} {pk}")
                else:
                    if rotated is None:
                        outcome.current += 1
                    else:
                        # A Value with a text output field is written as given, not encrypted again.
                        value = models.Value(rotated, output_field=models.TextField())
                        manager.filter(pk=pk).update(**{model_field.attname: value})
                        outcome.reencrypted += 1
            if progress is not None:
                progress(label, done, len(pks))
    return outcome


def _token_rotated(*, stored: str, first: Fernet, every: MultiFernet) -> str | None:
    """The token under the first key, or None when it (or an empty value) is there already.
    Raises InvalidToken when no key decrypts it."""
    if not stored:
        return None
    try:
        first.decrypt(stored.encode())
    except InvalidToken:
        return every.rotate(stored.encode()).decode()
    return None
