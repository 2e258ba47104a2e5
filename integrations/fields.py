"""Credentials encrypted at rest with Fernet, keyed by FIELD_ENCRYPTION_KEY.

The setting is a comma-separated list (MultiFernet): the first key encrypts, every key decrypts, so a
new key is put first, `credentials_reencrypt` moves every stored value onto it, and the old key goes."""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from portal.deploy_secrets import NOT_A_FERNET_KEY, field_encryption_keys


def field_fernets() -> list[Fernet]:
    """One Fernet per key of FIELD_ENCRYPTION_KEY, the encrypting one first."""
    keys = field_encryption_keys(value=settings.FIELD_ENCRYPTION_KEY)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY key {position} of {len(keys)} {NOT_A_FERNET_KEY}"
            ) from exc
    return fernets


def _fernet() -> MultiFernet:
    return MultiFernet(field_fernets())


class EncryptedJSONField(models.TextField):
    """A dict stored as a Fernet token; never readable in the database or a dump."""

    description = "JSON encrypted with Fernet"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict:
        if not value:
            return {}
        try:
            return json.loads(_fernet().decrypt(value.encode()).decode())
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Stored credentials cannot be decrypted: no key in FIELD_ENCRYPTION_KEY is the one they were"
                " saved with"
            ) from exc

    def to_python(self, value: Any) -> dict:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return json.loads(value)

    def get_prep_value(self, value: Any) -> str:
        data = json.dumps(value or {}, sort_keys=True)
        return _fernet().encrypt(data.encode()).decode()

    def value_to_string(self, obj: models.Model) -> str:
        return "[encrypted]"
