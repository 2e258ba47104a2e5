"""The list's actions as buttons on one row's page (approve, refund, replay, write off…).

A button posts to `<object id>/act/<action>/`, which runs the very action the list runs, on that one row:
the same permission check (the action is offered only if `get_actions` offers it to this user), the same
confirmation page and form, the same service. Nothing is decided by the button's own post: the action
answers with its confirmation page, and only the confirmation's post (to the same address) decides.
Afterwards the user is sent back where the button was (`?next=`, a page of this site), else to the row, or
to its list when the decision removed the row (a duplicate merged away).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

# When a row's state lets an action apply: a button is offered only then (the service still decides).
Applies = Callable[[Any], bool]


def _always(obj: Any) -> bool:
    return True


@dataclass(frozen=True)
class ObjectActionButton:
    name: str
    label: str
    url: str  # posted to, with `next` already in it


def object_action_url(*, obj: models.Model, action: str, next_url: str = "") -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_object_action", args=[quote(obj.pk), action])
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class ObjectActionsMixin:
    """`object_actions` maps action names (as in `actions`) to when they apply to a row."""

    object_actions: dict[str, Applies] = {}
    change_form_template = "admin/object_actions_change_form.html"  # a story page extends it

    def get_urls(self) -> list:
        opts = self.opts  # type: ignore[attr-defined]
        view = self.admin_site.admin_view(self.object_action_view)  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}_object_action"
        return [path("<path:object_id>/act/<str:action>/", view, name=name), *super().get_urls()]  # type: ignore[misc]

    def object_action_buttons(
        self, request: HttpRequest, obj: models.Model, *, next_url: str = ""
    ) -> list[ObjectActionButton]:
        """The buttons this user may press on this row, as its state stands."""
        offered = self.get_actions(request)  # type: ignore[attr-defined]
        return [
            ObjectActionButton(
                name=name,
                label=offered[name][2],
                url=object_action_url(obj=obj, action=name, next_url=next_url),
            )
            for name, applies in self.object_actions.items()
            if name in offered and (applies or _always)(obj)
        ]

    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        offered = self.get_actions(request)  # type: ignore[attr-defined]
        if action not in self.object_actions or action not in offered:
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")  # type: ignore[attr-defined]
        back = self._object_action_back(request, obj)
        if request.method != "POST":  # the confirmation's "No, take me back"
            return HttpResponseRedirect(back)
        func = offered[action][0]
        queryset = self.get_queryset(request).filter(pk=obj.pk)  # type: ignore[attr-defined]
        response = func(self, request, queryset)
        if response is not None:  # the confirmation page (again, with the form's errors)
            if hasattr(response, "context_data"):
                response.context_data["selected"] = [str(obj.pk)]
                response.context_data["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
                response.context_data["back_url"] = back
            return response
        if not request.GET.get("next") and not queryset.exists():  # merged away or deleted by the decision
            opts = self.opts  # type: ignore[attr-defined]
            back = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        return HttpResponseRedirect(back)

    def _object_action_back(self, request: HttpRequest, obj: models.Model) -> str:
        wanted = request.GET.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        opts = obj._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id)) if self.object_actions else None  # type: ignore[attr-defined]
        buttons = self.object_action_buttons(request, obj) if obj is not None else []
        return super().change_view(  # type: ignore[misc]
            request, object_id, form_url, {"object_action_buttons": buttons, **(extra_context or {})}
        )
