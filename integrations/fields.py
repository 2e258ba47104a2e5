"""Credentials encrypted at rest with Fernet, keyed by FIELD_ENCRYPTION_KEY."""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _fernet() -> Fernet:
    try:
        return Fernet(settings.FIELD_ENCRYPTION_KEY)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be a url-safe base64 32-byte Fernet key"
        ) from exc


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
                "Stored credentials cannot be decrypted: FIELD_ENCRYPTION_KEY changed since they were saved"
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
