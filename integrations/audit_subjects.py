"""The rows an audit trail (or alert) names by `subject_type` and `subject_id`, read in bulk: one query per
kind of subject on a page, whatever the number of events, each with what its name needs joined in."""

from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models

SubjectKey = tuple[str, str]


def subject_model(*, subject_type: str) -> type[models.Model] | None:
    """The model an event names by its bare model name; models shown in the admin are preferred where
    two apps use one name."""
    named = [model for model in apps.get_models() if model._meta.model_name == subject_type]
    shown = [model for model in named if admin.site.is_registered(model)]
    return (shown or named or [None])[0]


def _select_related(model: type[models.Model]) -> list[str]:
    """What the model's admin list joins so that its rows are named without a query each."""
    model_admin = admin.site._registry.get(model)
    joined = getattr(model_admin, "list_select_related", False)
    return list(joined) if isinstance(joined, list | tuple) else []


def audit_subjects_resolve(*, rows: Iterable[models.Model]) -> dict[SubjectKey, models.Model]:
    """Each row's (subject_type, subject_id) to the subject, for those still there."""
    wanted: dict[str, set] = defaultdict(set)
    for row in rows:
        wanted[row.subject_type].add(row.subject_id)
    found: dict[SubjectKey, models.Model] = {}
    for subject_type, ids in wanted.items():
        model = subject_model(subject_type=subject_type)
        if model is None:
            continue
        pks = []
        for subject_id in ids:
            try:
                pks.append(model._meta.pk.to_python(subject_id))
            except ValidationError:
                continue  # an id this model could never have: shown as it was written
        related = _select_related(model)
        queryset = model._default_manager.filter(pk__in=pks)
        for subject in queryset.select_related(*related) if related else queryset:
            found[(subject_type, str(subject.pk))] = subject
    return found
