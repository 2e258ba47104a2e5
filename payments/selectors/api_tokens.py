"""Which API tokens, and which token owners, a staff user may see: a superuser all, anyone else their own."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from knox.models import AuthToken


def api_tokens_visible(*, actor: AbstractBaseUser) -> QuerySet[AuthToken]:
    tokens = AuthToken.objects.select_related("user").order_by("-created")
    return tokens if actor.is_superuser else tokens.filter(user=actor)


def api_token_owners(*, actor: AbstractBaseUser) -> QuerySet:
    """Whom `actor` may make a token for: any active user for a superuser, otherwise only themselves."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return users if actor.is_superuser else users.filter(pk=actor.pk)
