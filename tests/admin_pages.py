"""Reading and posting admin pages the way a browser would, for tests that act as a role."""

from typing import Any

from django.contrib.messages import get_messages
from django.forms import CheckboxInput, MultiWidget
from django.urls import reverse


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def offered_actions(response) -> set[str]:
    form = response.context["action_form"] if response.context else None
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def action_ran(response) -> bool:
    """Whether a POSTed action ran. Django answers an action it will not run with the list again (when no
    action is on offer) or with a redirect saying "No action selected."."""
    if response.status_code == 302:
        # Only what this request said: unread messages of earlier requests are carried along.
        said = get_messages(response.wsgi_request)._queued_messages  # type: ignore[attr-defined]
        return "No action selected." not in [str(message) for message in said]
    return response.status_code == 200 and "cl" not in (response.context or {})


def form_data(response) -> dict[str, Any]:
    """What a browser sends back, unchanged, from an admin add or change page: the main form and every
    inline formset."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value, widget = bound.value(), bound.field.widget
            if isinstance(widget, MultiWidget):  # a date and a time, say: one input each
                parts = value if isinstance(value, list) else widget.decompress(value)
                names = [bound.html_name + suffix for suffix in widget.widgets_names]
                data.update((name, part) for name, part in zip(names, parts, strict=True) if part is not None)
                continue
            if isinstance(widget, CheckboxInput):
                value = "on" if value else None
            if value is not None:
                data[bound.html_name] = value
    return data
