"""Audit events and alerts name their subject as the screen does ("Receipt PT-6 (posted)", not
"erpposting 4"), linked to its page; the subjects of a whole list page are read in one query per kind."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from integrations.audit import audit_action_label
from integrations.audit_subjects import audit_subjects_resolve, subject_model

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
    """A filter over the values a column holds, each shown in words."""

    def words(self, value: str) -> str:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        values = model_admin.get_queryset(request).order_by().values_list(self.parameter_name, flat=True)
        return sorted(
            ((value, self.words(value)) for value in set(values) if value), key=lambda pair: pair[1]
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ActionFilter(_WordedValuesFilter):
    title = "action"
    parameter_name = "action"

    def words(self, value: str) -> str:
        return audit_action_label(action=value)


class SubjectTypeFilter(_WordedValuesFilter):
    title = "kind of subject"
    parameter_name = "subject_type"

    def words(self, value: str) -> str:
        model = subject_model(subject_type=value)
        return capfirst(model._meta.verbose_name) if model is not None else value
