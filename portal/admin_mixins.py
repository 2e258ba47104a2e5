"""Admin building blocks shared by every app: read-only mirrors, decisions, audited edits and confirmed
actions."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from integrations.audit import audit_record_edit

CONFIRMATION_ROWS_SHOWN = 200


class DecideAdminMixin:
    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Queue decisions (replay, approve, resolve) go through services, never through the change form:
        an action declared with `permissions=("decide",)` needs the model's real change permission, even
        where the admin hides the form."""
        opts = self.opts  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


class ReadOnlyAdminMixin(DecideAdminMixin):
    """For rows mirrored from another system or written only by services: viewable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdminMixin:
    """Every add, change and delete made in this admin (the list's inline edits and "delete selected"
    included) writes an AuditEvent with the fields before and after; credentials are named, never
    written."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        before = type(obj)._default_manager.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        audit_record_edit(verb="change" if change else "add", before=before, after=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        audit_record_edit(verb="delete", before=obj, after=None, actor=request.user)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=queryset.db):
            for obj in queryset:
                audit_record_edit(verb="delete", before=obj, after=None, actor=request.user)
            super().delete_queryset(request, queryset)  # type: ignore[misc]


class LeadingDisplaysMixin:
    """Computed displays (methods named in `leading_displays`) shown first on an existing row's page."""

    leading_displays: tuple[str, ...] = ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [name for name in super().get_fields(request, obj) if name not in self.leading_displays]  # type: ignore[misc]
        return [*self.leading_displays, *fields] if obj is not None else fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), *self.leading_displays]  # type: ignore[misc]


def confirmation_context(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action_name: str,
    description: str,
    describe: Callable[[Any], str] = str,
) -> dict[str, Any]:
    """What a confirmation page of an admin action shows, and the hidden fields that bring the choice back.
    `describe` words each chosen row as the decision concerns it (amount, customer, account)."""
    return {
        **modeladmin.admin_site.each_context(request),
        "title": f"Confirm: {description}",
        "action_name": action_name,
        "description": description,
        "rows": [describe(obj) for obj in queryset[:CONFIRMATION_ROWS_SHOWN]],
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
    }


def counted(*, opts: Any, count: int) -> str:
    """A count in the screen's own words ("1 flagged payment", "3 flagged payments"), never "row(s)"."""
    return f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"


def action_outcome_report(
    *, modeladmin: admin.ModelAdmin, request: HttpRequest, done: str, count: int, selected: int
) -> None:
    """Say in words what an action did. Doing nothing is a warning, never a success: the rows chosen
    were not in a state the action applies to (or another message says why each was refused)."""
    opts = modeladmin.model._meta
    if count:
        modeladmin.message_user(request, f"{counted(opts=opts, count=count)} {done}.", messages.SUCCESS)
        return
    modeladmin.message_user(
        request,
        f"Nothing was {done}: none of the {counted(opts=opts, count=selected)} selected could be.",
        messages.WARNING,
    )


def confirmed_action(
    *,
    description: str,
    done: str = "done",
    permissions: tuple[str, ...] = ("change",),
    with_reason: bool = False,
    describe: Callable[[Any], str] = str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An admin action that first shows the selected rows on a confirmation page.

    The wrapped function is called as `func(modeladmin, request, queryset, reason)` only after the user
    confirms; it returns the number of rows it acted on, reported as "<count> <rows> <done>." (e.g.
    `done="approved and released to the ERP"`), or as a warning when it is zero.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @admin.action(description=description, permissions=permissions)
        def action(
            modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
        ) -> HttpResponse | None:
            reason = request.POST.get("reason", "").strip()
            if request.POST.get("confirmed") == "yes":
                if with_reason and not reason:
                    modeladmin.message_user(request, "A reason is required.", messages.ERROR)
                else:
                    selected = queryset.count()
                    count = func(modeladmin, request, queryset, reason)
                    action_outcome_report(
                        modeladmin=modeladmin, request=request, done=done, count=count, selected=selected
                    )
                    return None
            context = confirmation_context(
                modeladmin,
                request,
                queryset,
                action_name=func.__name__,
                description=description,
                describe=describe,
            )
            count = queryset.count()
            context.update(count=count, with_reason=with_reason, more=max(count - CONFIRMATION_ROWS_SHOWN, 0))
            return TemplateResponse(request, "admin/confirm_action.html", context)

        action.__name__ = func.__name__
        return action

    return decorate


class ActionForm(forms.Form):
    """The form on a `form_action`'s confirmation page; it is given the rows chosen."""

    def __init__(self, *args: Any, queryset: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queryset = queryset


def form_action(
    *,
    description: str,
    form_class: type["ActionForm"],
    single: bool = False,
    describe: Callable[[Any], str] = str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like `confirmed_action`, with a form on the confirmation page; the wrapped function gets
    `(modeladmin, request, queryset, cleaned_data)` and returns a message, or raises ValueError. The form
    is built with the chosen rows (`queryset=`), so its choices can name them."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @admin.action(description=description, permissions=("decide",))
        def action(
            modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
        ) -> HttpResponse | None:
            if single and queryset.count() != 1:
                one = modeladmin.opts.verbose_name
                modeladmin.message_user(request, f"{description}: select exactly one {one}.", messages.ERROR)
                return None
            confirmed = request.POST.get("confirmed") == "yes"
            form = form_class(request.POST if confirmed else None, queryset=queryset)
            if confirmed and form.is_valid():
                try:
                    message = func(modeladmin, request, queryset, form.cleaned_data)
                except ValueError as error:
                    form.add_error(None, str(error))
                else:
                    modeladmin.message_user(request, message, messages.SUCCESS)
                    return None
            context = confirmation_context(
                modeladmin,
                request,
                queryset,
                action_name=func.__name__,
                description=description,
                describe=describe,
            )
            context["form"] = form
            return TemplateResponse(request, "admin/form_action.html", context)

        action.__name__ = func.__name__
        return action

    return decorate
