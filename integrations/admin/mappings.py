"""Mapping promotion in the admin: export the tables as a JSON file, import one after reading its diff.

The import is two steps without server-side state: the uploaded document is checked and its diff shown
together with the version of the tables it was computed against; "Apply" sends both back, and the
service refuses if the tables changed in between.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integrations.mapping_transfer import (
    TABLES,
    MappingFileError,
    MappingsChanged,
    mappings_diff,
    mappings_diff_entries,
    mappings_document_json,
    mappings_document_parse,
    mappings_export,
    mappings_import,
)
from integrations.models import MappingSnapshot
from portal.admin_mixins import LeadingDisplaysMixin

UPLOAD_LIMIT_BYTES = 5 * 1024 * 1024


def _json_download(snapshot: MappingSnapshot) -> HttpResponse:
    response = HttpResponse(mappings_document_json(snapshot=snapshot), content_type="application/json")
    filename = f"paysage-mappings-{snapshot.environment}-{snapshot.version[:12]}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class MappingTransferAdminMixin(LeadingDisplaysMixin):
    """For the mapping snapshot admin: export / import views, download, and "import this snapshot"."""

    change_list_template = "admin/integrations/mappingsnapshot/change_list.html"
    actions = ["import_snapshot"]
    leading_displays = ("download",)

    @admin.display(description="Document")
    def download(self, obj: MappingSnapshot) -> str:
        url = reverse("admin:integrations_mappingsnapshot_download", args=[obj.pk])
        return format_html('<a href="{}" id="download-snapshot">Download the JSON</a>', url)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrations.add_mappingsnapshot")

    def has_import_permission(self, request: HttpRequest) -> bool:
        needed = [
            f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"
            for model in TABLES.values()
            for action in ("add", "change", "delete")
        ]
        return self.has_export_permission(request) and request.user.has_perms(needed)

    def get_urls(self):
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("export/", wrap(self.export_view), name="integrations_mappingsnapshot_export"),
            path("import/", wrap(self.import_view), name="integrations_mappingsnapshot_import"),
            path(
                "<int:pk>/download/",
                wrap(self.download_view),
                name="integrations_mappingsnapshot_download",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_export": self.has_export_permission(request),
            "can_import": self.has_import_permission(request),
        }
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_export_permission(request):
            raise PermissionDenied
        return _json_download(mappings_export(actor=request.user))

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        return _json_download(get_object_or_404(MappingSnapshot, pk=pk))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._import_page(request)
        upload = request.FILES.get("file")
        if upload is not None and upload.size > UPLOAD_LIMIT_BYTES:
            return self._import_page(request, error=f"The file is larger than {UPLOAD_LIMIT_BYTES} bytes.")
        text = upload.read() if upload is not None else request.POST.get("document", "")
        if not text:
            return self._import_page(request, error="Choose a mapping export file.")
        try:
            document = mappings_document_parse(text=text)
        except MappingFileError as exc:
            return self._import_page(request, error=str(exc))
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("confirmed") == "yes":
            try:
                snapshot, diff = mappings_import(
                    document=document,
                    expected_current_version=request.POST.get("expected_version", ""),
                    actor=request.user,
                    reason=reason,
                )
            except MappingsChanged as exc:
                self.message_user(request, str(exc), messages.ERROR)  # type: ignore[attr-defined]
            else:
                if snapshot is None:
                    self.message_user(request, "Nothing to change: the tables already hold this version.")  # type: ignore[attr-defined]
                    return HttpResponseRedirect(reverse("admin:integrations_mappingsnapshot_changelist"))
                totals = diff.totals()
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    f"Imported mapping version {snapshot.version[:12]}: {totals['added']} added, "
                    f"{totals['changed']} changed, {totals['removed']} removed.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:integrations_mappingsnapshot_change", args=[snapshot.pk])
                )
        text = text.decode("utf-8-sig") if isinstance(text, bytes) else text  # parsed above: UTF-8
        return self._import_page(request, document_text=text, document=document, reason=reason)

    def _import_page(self, request: HttpRequest, *, error: str = "", document_text: str = "", **preview):
        document = preview.get("document")
        diff = mappings_diff(document=document) if document is not None else None
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": "Import mappings",
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "error": error,
            "document": document,
            "document_text": document_text,
            "diff": diff,
            "entries": mappings_diff_entries(diff=diff) if diff is not None else [],
            "reason": preview.get("reason", ""),
        }
        return TemplateResponse(request, "admin/integrations/mappingsnapshot/import.html", context)

    @admin.action(description="Import the selected snapshot (diff first)", permissions=("import",))
    def import_snapshot(
        self, request: HttpRequest, queryset: QuerySet[MappingSnapshot]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one snapshot to import.", messages.ERROR)  # type: ignore[attr-defined]
            return None
        text = mappings_document_json(snapshot=queryset.get())
        try:
            document = mappings_document_parse(text=text)
        except MappingFileError as exc:
            self.message_user(request, f"This snapshot cannot be imported: {exc}", messages.ERROR)  # type: ignore[attr-defined]
            return None
        return self._import_page(request, document_text=text, document=document)
