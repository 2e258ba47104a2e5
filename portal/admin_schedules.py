"""django-q2's Schedule admin, held to Paysage's own tasks.

The cluster imports and runs whatever dotted path a schedule names, with its arguments, result hook and
queue options: a free `func` (`os.system`), a `hook`, or a `chain` slipped into the keyword arguments
is code execution on the workers. So even a superuser's form takes only a declared task
(`integrations.schedules.schedule_funcs_allowed`), no hook, and arguments that fit the task's signature.
"""

import ast
import inspect
from typing import Any

from django import forms
from django.utils.module_loading import import_string
from django_q.admin import ScheduleAdmin as DjangoQScheduleAdmin
from django_q.models import Schedule

from integrations.schedules import schedule_funcs_allowed


def _literal_arguments(*, args: str | None, kwargs: str | None) -> tuple[tuple, dict[str, Any]]:
    """`args` and `kwargs` read as django-q2's scheduler reads them: Python literals, the keywords either
    as a dict or as `name=value, ...`."""
    positional = ast.literal_eval(args) if args else ()
    keywords: Any = {}
    if kwargs:
        try:
            keywords = ast.literal_eval(kwargs)
        except (SyntaxError, ValueError):
            call = ast.parse(f"f({kwargs})", mode="eval").body
            if not isinstance(call, ast.Call) or call.args:
                raise ValueError("write the keyword arguments as name=value, ...") from None
            keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    if not isinstance(keywords, dict):
        raise ValueError("the keyword arguments are not a dict")
    return positional if isinstance(positional, tuple) else (positional,), keywords


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = [
            "name",
            "func",
            "hook",
            "args",
            "kwargs",
            "schedule_type",
            "minutes",
            "repeats",
            "next_run",
            "cron",
            "cluster",
            "intended_date_kwarg",
        ]

    def clean_func(self) -> str:
        func = self.cleaned_data["func"].strip()
        allowed = schedule_funcs_allowed()
        if func not in allowed:
            raise forms.ValidationError(
                f"{func} is not one of Paysage's tasks. Choose one of: {', '.join(sorted(allowed))}."
            )
        return func

    def clean_hook(self) -> str | None:
        if self.cleaned_data.get("hook"):
            raise forms.ValidationError("Paysage's schedules take no hook: the cluster would run it as code.")
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        func = cleaned.get("func")
        if not func:
            return cleaned  # refused above
        try:
            args, kwargs = _literal_arguments(args=cleaned.get("args"), kwargs=cleaned.get("kwargs"))
        except (SyntaxError, ValueError, TypeError, RecursionError) as exc:
            raise forms.ValidationError(f"Arguments must be Python literals ({exc}).") from exc
        if cleaned.get("intended_date_kwarg"):
            kwargs[cleaned["intended_date_kwarg"]] = "<intended date>"
        signature = inspect.signature(import_string(func))
        # django-q2 takes its own options (hook, chain, q_options...) out of the keywords: only the task's
        # named parameters are accepted, so none of them can ride along.
        named = {
            name
            for name, parameter in signature.parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        }
        try:
            signature.bind(*args, **kwargs)
            if kwargs.keys() - named:
                raise TypeError(f"unexpected keyword arguments {sorted(kwargs.keys() - named)}")
        except TypeError as exc:
            raise forms.ValidationError(f"The arguments do not fit {func}{signature}: {exc}.") from exc
        return cleaned


class ScheduleAdmin(DjangoQScheduleAdmin):
    form = ScheduleForm
