"""API keys for storefronts: made and revoked here only, each time with an audit event.

django-rest-knox keeps a SHA-512 digest of each key and its first characters (`token_key`, the non-secret
prefix shown in lists); the key itself exists only in the value returned by `api_token_create`, which is
shown once and never stored. Audit events name the token by its user and prefix, never by key or digest.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from knox.models import AuthToken

from integrations.audit import audit_record


class ApiTokenRefused(Exception):
    """The token cannot be made or revoked as asked; the message says why."""


@dataclass(frozen=True)
class IssuedApiToken:
    token: AuthToken
    key: str  # shown to whoever asked, once; nowhere else


def _may_act(*, actor: AbstractBaseUser | None, user: AbstractBaseUser) -> bool:
    """Only a superuser acts on another user's tokens (an Integration admin once made one for the
    superuser). `actor=None` is an operator at the server's shell (token_create), who can do anything."""
    return actor is None or actor.is_superuser or actor.pk == user.pk


def _audit_data(*, token: AuthToken) -> dict[str, str | None]:
    return {
        "user": token.user.get_username(),
        "token_prefix": token.token_key,
        "expiry": token.expiry.isoformat() if token.expiry else None,
    }


def api_token_create(
    *, actor: AbstractBaseUser | None, user: AbstractBaseUser, reason: str = ""
) -> IssuedApiToken:
    if not _may_act(actor=actor, user=user):
        raise ApiTokenRefused("Only a superuser may create a token for another user.")
    if not user.is_active:
        raise ApiTokenRefused(f"User {user.get_username()} is inactive: a token would not authenticate.")
    with transaction.atomic():
        token, key = AuthToken.objects.create(user=user)  # expiry: REST_KNOX's TOKEN_TTL
        audit_record(
            action="api_token_created",
            subject=user,
            actor=actor,
            reason=reason,
            data=_audit_data(token=token),
        )
    return IssuedApiToken(token=token, key=key)


def api_token_revoke(*, actor: AbstractBaseUser | None, token: AuthToken) -> None:
    if not _may_act(actor=actor, user=token.user):
        raise ApiTokenRefused("Only a superuser may revoke another user's token.")
    with transaction.atomic():
        audit_record(
            action="api_token_revoked",
            subject=token.user,
            actor=actor,
            data=_audit_data(token=token),
        )
        token.delete()
