"""API tokens in the admin (registered from payments.admin, in place of knox's own admin, which lists
digests and passes the new key through the message store).

A list shows each token's prefix, user, creation and expiry, never a key. A new key is shown once, on the
page answering the "Save" that made it, and kept nowhere. Superusers see and manage every token; anyone
else holding the model's permissions only their own.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from knox.models import AuthToken

from payments.selectors.api_tokens import api_token_owners, api_tokens_visible
from payments.services.api_tokens import ApiTokenRefused, api_token_create, api_token_revoke

SHOWN_FIELDS = ["prefix", "user", "created", "expiry"]


class ApiTokenAdmin(admin.ModelAdmin):
    list_display = SHOWN_FIELDS
    search_fields = ["token_key", "user__username"]
    readonly_fields = ["prefix", "created", "expiry"]

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, token: AuthToken) -> str:
        return f"{token.token_key}…"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthToken]:
        return api_tokens_visible(actor=request.user)

    def get_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> list[str]:
        # A new token takes only its user: its key, digest, prefix and expiry are made by the service.
        return ["user"] if obj is None else SHOWN_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False  # a key's user and expiry are fixed: revoke it and make another

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "user":
            kwargs["queryset"] = api_token_owners(actor=request.user)
            if not request.user.is_superuser:
                kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None):
        # Every save ends on the page showing the key: "save and continue/add another" would skip it.
        context = {"show_save_and_continue": False, "show_save_and_add_another": False}
        return super().add_view(request, form_url, {**context, **(extra_context or {})})

    def save_form(self, request: HttpRequest, form, change: bool) -> AuthToken:
        try:
            issued = api_token_create(actor=request.user, user=form.cleaned_data["user"])
        except ApiTokenRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        # Carried to response_add on this in-memory object only; the database holds the digest.
        issued.token.key_shown_once = issued.key
        return issued.token

    def save_model(self, request: HttpRequest, obj: AuthToken, form, change: bool) -> None:
        """Saved by api_token_create in save_form."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """A token has no related rows to save."""

    def response_add(self, request: HttpRequest, obj: AuthToken, post_url_continue=None) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the new API key now",
            "token": obj,
            "key": obj.key_shown_once,
        }
        response = TemplateResponse(request, "admin/knox/authtoken/key_once.html", context)
        add_never_cache_headers(response)
        return response

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for token in queryset:
            try:
                api_token_revoke(actor=request.user, token=token)
            except ApiTokenRefused as exc:
                raise PermissionDenied(str(exc)) from exc
