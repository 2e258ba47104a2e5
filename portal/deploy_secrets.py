"""The secrets a production-like deployment (`PAYSAGE_ENV=qa` or `prod`) brings itself.

Each is refused when empty, shorter than 32 characters or one of the development defaults published in
this repository: with a known SECRET_KEY anyone forges sessions, with a known webhook secret anyone
signs PayTrace events, with a known FIELD_ENCRYPTION_KEY anyone reads the stored ERP credentials.

settings.py imports this before Django is set up, so nothing here reads django.conf.settings.
"""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_LENGTH = 32
DEV_SECRET_KEY = "paysage-dev-only-secret-key-never-used-in-production-0123456789"
DEV_WEBHOOK_SECRET = "paysage-dev-webhook-secret"
RANDOM_SECRET_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
NOT_A_FERNET_KEY = "is not a Fernet key (32 url-safe base64-encoded bytes)"
FERNET_KEY_HINT = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def fernet_key_derived(*, secret: str) -> str:
    """The dev default of FIELD_ENCRYPTION_KEY: derived from SECRET_KEY, so `make run` needs no key."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest()).decode()


DEV_FIELD_ENCRYPTION_KEY = fernet_key_derived(secret=DEV_SECRET_KEY)


class WeakSecretSettings(ImproperlyConfigured):
    """A production-like start with a missing, short or public secret (manage.py prints the message alone)."""


def field_encryption_keys(*, value: str) -> list[str]:
    """FIELD_ENCRYPTION_KEY as a list: comma-separated, the first key encrypts and every key decrypts."""
    return [key.strip() for key in value.split(",")] if value.strip() else []


def _secret_problem(*, name: str, value: str, dev_value: str, hint: str) -> str | None:
    if not value:
        problem = "is empty"
    elif value == dev_value:
        problem = "is the development default published in the repository"
    elif len(value) < MIN_SECRET_LENGTH:
        problem = f"is shorter than {MIN_SECRET_LENGTH} characters"
    else:
        return None
    return f"{name} {problem}; set a new one, e.g. {hint}"


def _field_encryption_key_problem(*, value: str) -> str | None:
    keys = field_encryption_keys(value=value)
    for position, key in enumerate(keys or [""], start=1):
        name = f"FIELD_ENCRYPTION_KEY (key {position})" if len(keys) > 1 else "FIELD_ENCRYPTION_KEY"
        problem = _secret_problem(
            name=name, value=key, dev_value=DEV_FIELD_ENCRYPTION_KEY, hint=FERNET_KEY_HINT
        )
        if problem:
            return problem
        try:
            Fernet(key)
        except ValueError:
            return f"{name} {NOT_A_FERNET_KEY}; make one with {FERNET_KEY_HINT}"
    return None


def secret_settings_problems(*, secret_key: str, webhook_secret: str, field_encryption_key: str) -> list[str]:
    """One sentence per weak secret, naming its setting; empty when all three are fit for production."""
    problems = [
        _secret_problem(
            name="SECRET_KEY", value=secret_key, dev_value=DEV_SECRET_KEY, hint=RANDOM_SECRET_HINT
        ),
        _secret_problem(
            name="PAYTRACE_WEBHOOK_SECRET",
            value=webhook_secret,
            dev_value=DEV_WEBHOOK_SECRET,
            hint=RANDOM_SECRET_HINT,
        ),
        _field_encryption_key_problem(value=field_encryption_key),
    ]
    return [problem for problem in problems if problem]


def secret_settings_refuse_weak(
    *, environment: str, secret_key: str, webhook_secret: str, field_encryption_key: str
) -> None:
    problems = secret_settings_problems(
        secret_key=secret_key, webhook_secret=webhook_secret, field_encryption_key=field_encryption_key
    )
    if problems:
        raise WeakSecretSettings(f"PAYSAGE_ENV={environment} refuses to start: " + "\n".join(problems))
