"""Audit events and alerts name their subject as the screen does ("Receipt PT-6 (posted)", not
"erpposting 4"), linked to its page; the subjects of a whole list page are read in one query per kind."""

from collections.abc import Iterable

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from integrations.audit import ACTION_LABELS, EDIT_VERBS, audit_action_label
from integrations.audit_subjects import audit_subjects_resolve, subject_model
from portal.admin_mixins import AuditedAdminMixin

_UNREAD = object()


class _SubjectsChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        found = audit_subjects_resolve(rows=self.result_list)
        for row in self.result_list:
            row.resolved_subject = found.get((row.subject_type, row.subject_id))


class SubjectAdminMixin:
    """`subject_link` and `action_label` columns for a model with `subject_type` and `subject_id`."""

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return _SubjectsChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "subject_link"]  # type: ignore[misc]

    def _subject(self, row: models.Model) -> models.Model | None:
        subject = getattr(row, "resolved_subject", _UNREAD)
        if subject is _UNREAD:  # a change page: its one subject, read alone
            subject = audit_subjects_resolve(rows=[row]).get((row.subject_type, row.subject_id))
        return subject

    @admin.display(description="Subject", ordering="subject_type")
    def subject_link(self, row: models.Model) -> str:
        if not row.subject_type:
            return "–"
        subject = self._subject(row)
        if subject is None:
            model = subject_model(subject_type=row.subject_type)
            kind = model._meta.verbose_name if model is not None else row.subject_type
            return f"{kind} {row.subject_id} (no longer exists)"
        opts = subject._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[subject.pk])
        except NoReverseMatch:
            return str(subject)
        return format_html('<a href="{}">{}</a>', url, subject)

    @admin.display(description="Action", ordering="action")
    def action_label(self, row: models.Model) -> str:
        return audit_action_label(action=row.action)


class _WordedValuesFilter(admin.SimpleListFilter):
    """A filter over the values a column can hold, each shown in words. The values are known from the
    code (`values`), never read from the table: a SELECT DISTINCT over the audit trail grows with it."""

    def words(self, value: str) -> str:
        raise NotImplementedError

    def values(self) -> Iterable[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return sorted(((value, self.words(value)) for value in set(self.values())), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


def _shown_models() -> list[type[models.Model]]:
    return list(admin.site._registry)


def _audited_models() -> list[type[models.Model]]:
    """The models whose admin records each edit by hand."""
    return [
        model
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, AuditedAdminMixin)
    ]


class ActionFilter(_WordedValuesFilter):
    title = "action"
    parameter_name = "action"

    def words(self, value: str) -> str:
        return audit_action_label(action=value)

    def values(self) -> Iterable[str]:
        """The decisions the services record, and the edits by hand the audited admins record."""
        edits = [f"{model._meta.model_name}.{verb}" for model in _audited_models() for verb in EDIT_VERBS]
        return [*ACTION_LABELS, *edits]


class SubjectTypeFilter(_WordedValuesFilter):
    title = "kind of subject"
    parameter_name = "subject_type"

    def words(self, value: str) -> str:
        model = subject_model(subject_type=value)
        return capfirst(model._meta.verbose_name) if model is not None else value

    def values(self) -> Iterable[str]:
        return [model._meta.model_name for model in _shown_models()]
