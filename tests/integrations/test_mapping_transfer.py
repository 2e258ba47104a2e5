"""Mapping promotion: versioned export, validated import, diff first, applied as one unit, audited."""

import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations import mapping_transfer
from integrations.mapping_transfer import (
    MappingFileError,
    MappingsChanged,
    mappings_content,
    mappings_diff,
    mappings_document_json,
    mappings_document_parse,
    mappings_export,
    mappings_import,
    mappings_version,
)
from integrations.models import (
    AuditEvent,
    CurrencyRate,
    FieldDefault,
    GLAccountRule,
    MappingSnapshot,
    PaymentMethodMapping,
    StatusMapping,
)
from portal import demo
from portal.roles import FINANCE_REVIEWER, INTEGRATION_ADMIN
from tests.staff import staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def mappings():
    demo.demo_mappings_ensure()


def exported() -> str:
    return mappings_document_json(snapshot=mappings_export())


def test_export_is_canonical_and_versioned_by_its_content(mappings):
    first = mappings_export()
    assert first.direction == "export" and first.environment == settings.PAYSAGE_ENV
    document = first.content
    assert set(document) == {"format", "format_version", "version", "environment", "exported_at", "tables"}
    assert set(document["tables"]) == {
        "status_mappings",
        "payment_method_mappings",
        "gl_account_rules",
        "currency_rates",
        "field_defaults",
    }
    assert document["version"] == mappings_version(content=document["tables"])
    visa = next(r for r in document["tables"]["gl_account_rules"] if r["card_brand"] == "VISA")
    assert visa["fee_percent"] == "2.5000" and visa["fee_fixed"] == "0.10"
    # The same rows inserted in another order give the same document and version.
    rows = list(
        StatusMapping.objects.values("erp", "paytrace_status", "erp_status", "action", "reopen_invoice")
    )
    StatusMapping.objects.all().delete()
    StatusMapping.objects.bulk_create([StatusMapping(**row) for row in reversed(rows)])
    assert mappings_export().version == first.version


def test_diff_then_import_makes_the_tables_equal_to_the_document_and_audits(mappings):
    document = mappings_document_parse(text=exported())
    rule = GLAccountRule.objects.get(erp="sage_300", purpose="fees", card_brand="VISA")
    rule.account = "6199"
    rule.save()
    PaymentMethodMapping.objects.filter(erp="sage_x3", payment_method="ach").delete()
    FieldDefault.objects.create(erp="sage_pro", field="TERMS", value="NET30")

    diff = mappings_diff(document=document)
    counts = diff.counts()
    assert counts["gl_account_rules"] == {"added": 0, "changed": 1, "removed": 0}
    assert counts["payment_method_mappings"] == {"added": 1, "changed": 0, "removed": 0}
    assert counts["field_defaults"] == {"added": 0, "changed": 0, "removed": 1}
    ((before, after),) = diff.tables["gl_account_rules"].changed
    assert (before["account"], after["account"]) == ("6199", "6100")

    snapshot, _ = mappings_import(document=document, expected_current_version=diff.current_version)
    assert mappings_version(content=mappings_content()) == document.version
    assert snapshot.direction == "import" and snapshot.diff["tables"]["field_defaults"]["removed"]
    audit = AuditEvent.objects.get(action="mappings.import")
    assert audit.subject_id == str(snapshot.pk) and audit.data["to_version"] == document.version
    # Importing the same version again changes and records nothing.
    assert mappings_import(document=document)[0] is None
    assert MappingSnapshot.objects.filter(direction="import").count() == 1


def test_import_is_refused_when_the_tables_changed_after_the_diff(mappings):
    text = exported()
    StatusMapping.objects.filter(paytrace_status="declined").update(erp_status="Refused")
    document = mappings_document_parse(text=text)
    seen = mappings_diff(document=document).current_version
    CurrencyRate.objects.update(rate=Decimal("0.75"))
    with pytest.raises(MappingsChanged):
        mappings_import(document=document, expected_current_version=seen)
    assert StatusMapping.objects.filter(erp_status="Refused").count() == 3


def test_import_is_all_or_nothing(mappings, monkeypatch):
    document = mappings_document_parse(text=exported())
    StatusMapping.objects.all().delete()
    CurrencyRate.objects.all().delete()
    real = mapping_transfer._table_apply

    def fail_on_rates(model, diff):
        if model is CurrencyRate:
            raise RuntimeError("disk full")
        real(model, diff)

    monkeypatch.setattr(mapping_transfer, "_table_apply", fail_on_rates)
    with pytest.raises(RuntimeError):
        mappings_import(document=document)
    assert not StatusMapping.objects.exists()  # the table applied before the failure was rolled back
    assert not AuditEvent.objects.exists()


def _doc(mappings_text: str, **changes) -> str:
    document = json.loads(mappings_text)
    document.update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: "{not json", "Not a JSON document"),
        (lambda d: _doc(d, format="something-else"), "Not a Paysage mappings export"),
        (lambda d: _doc(d, format_version=7), "Unsupported format_version 7"),
        (lambda d: _doc(d, tables={"status_mappings": []}), "must hold exactly the tables"),
        (lambda d: _doc(d, version="0" * 64), "does not match the content"),
    ],
)
def test_a_bad_document_is_refused_with_a_clear_message(mappings, edit, message):
    with pytest.raises(MappingFileError, match=message):
        mappings_document_parse(text=edit(exported()))


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("currency_rates", {"rate": 0.73}, "write amounts and rates as strings"),
        ("currency_rates", {"rate": "-1"}, "currencyrate_positive"),
        ("gl_account_rules", {"fee_percent": "-2.5"}, "glrule_fees_non_negative"),
        (
            "payment_method_mappings",
            {"payment_method": "cash"},
            "payment_method: Value 'cash' is not a valid",
        ),
        ("status_mappings", {"colour": "red"}, "unknown field"),
        ("field_defaults", {"value": "x" * 201}, "at most 200 characters"),
    ],
)
def test_a_bad_row_is_refused_naming_table_row_and_field(mappings, table, change, message):
    document = json.loads(exported())
    document["tables"][table][0].update(change)
    with pytest.raises(MappingFileError, match=rf"{table} row 1.*{message}"):
        mappings_document_parse(text=json.dumps(document))


def _raw_format_version(mappings_text: str, raw: str) -> bytes:
    """The document with `format_version` written as `raw`, JSON that `json.dumps` would not write."""
    text = _doc(mappings_text, format_version="?")
    return text.replace('"format_version": "?"', f'"format_version": {raw}').encode()


UNREADABLE_FILES = {
    "UTF-16": (lambda d: d.encode("utf-16"), "not UTF-8 text (this looks like UTF-16)"),
    "UTF-16 without a byte order mark": (lambda d: d.encode("utf-16-le"), "not UTF-8 text"),
    "Latin-1": (lambda d: d.replace('"dev"', '"développement"', 1).encode("latin-1"), "not UTF-8"),
    "not JSON": (lambda d: b"format: paysage-mappings", "Expecting value"),
    "deeply nested": (lambda d: b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    "deep inside": (lambda d: _raw_format_version(d, "[" * 40 + "]" * 40), "nested deeper than 32 levels"),
    "NaN": (lambda d: _raw_format_version(d, "NaN"), "NaN is not a JSON number"),
    "a 5,000-digit number": (lambda d: _raw_format_version(d, "9" * 5000), "Exceeds the limit (4300 digits)"),
}


@pytest.mark.parametrize("case", UNREADABLE_FILES)
def test_a_file_json_cannot_take_is_refused_with_a_clear_message(mappings, case):
    encode, message = UNREADABLE_FILES[case]
    with pytest.raises(MappingFileError, match=re.escape(f"Not a JSON document: {message}")):
        mappings_document_parse(text=encode(exported()))


def test_a_utf8_file_with_a_byte_order_mark_is_read(mappings):
    text = exported()
    document = mappings_document_parse(text=b"\xef\xbb\xbf" + text.encode())
    assert document.version == json.loads(text)["version"]


def test_duplicate_keys_are_refused(mappings):
    document = json.loads(exported())
    rows = document["tables"]["status_mappings"]
    rows.append(dict(rows[0]))
    with pytest.raises(MappingFileError, match="two rows for"):
        mappings_document_parse(text=json.dumps(document))


def test_commands_export_dry_run_and_import(mappings, tmp_path, capsys):
    path = tmp_path / "qa.json"
    call_command("export_mappings", output=str(path))
    assert json.loads(path.read_text())["format"] == "paysage-mappings"
    GLAccountRule.objects.filter(erp="sage_pro", purpose="cash").update(account="1001")
    capsys.readouterr()

    call_command("import_mappings", str(path), dry_run=True)
    out = capsys.readouterr().out
    assert "~ gl_account_rules: sage_pro / cash / * / * / * / *; account '1001' → '1000'" in out
    assert "Dry run: nothing changed." in out
    assert GLAccountRule.objects.get(erp="sage_pro", purpose="cash", card_brand="").account == "1001"

    call_command("import_mappings", str(path), reason="promote QA set")
    assert "Imported version" in capsys.readouterr().out
    assert GLAccountRule.objects.get(erp="sage_pro", purpose="cash", card_brand="").account == "1000"
    assert AuditEvent.objects.get(action="mappings.import").reason == "promote QA set"

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "paysage-mappings"}')
    with pytest.raises(CommandError, match="bad.json: Unsupported format_version"):
        call_command("import_mappings", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_mappings", str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "Not a Paysage mappings export"),
        ('{"format": "paysage-mappings"}'.encode("utf-16"), "not UTF-8 text (this looks like UTF-16)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    ],
)
def test_a_bad_file_exits_2_with_the_reason(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "manage.py", "import_mappings", str(bad), "--dry-run"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": "sqlite://:memory:"},
        timeout=120,
    )
    assert result.returncode == 2
    assert "bad.json: Not" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_import_command_refuses_a_utf16_file_with_exit_code_2(mappings, tmp_path):
    path = tmp_path / "qa.json"
    path.write_bytes(exported().encode("utf-16"))
    with pytest.raises(CommandError, match="qa.json: Not a JSON document: not UTF-8 text") as refused:
        call_command("import_mappings", str(path))
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="cannot read") as unreadable:
        call_command("import_mappings", str(tmp_path / "missing.json"))
    assert unreadable.value.returncode == 2


# --- the admin ------------------------------------------------------------------------------------

IMPORT_URL = reverse("admin:integrations_mappingsnapshot_import")


def test_admin_export_import_with_preview(mappings, client):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    changelist = client.get(reverse("admin:integrations_mappingsnapshot_changelist")).content.decode()
    assert 'id="export-mappings"' in changelist and 'id="import-mappings"' in changelist
    download = client.post(reverse("admin:integrations_mappingsnapshot_export"))
    assert download["Content-Disposition"].startswith('attachment; filename="paysage-mappings-')
    text = download.content.decode()
    StatusMapping.objects.filter(erp="sage_300", paytrace_status="approved").update(erp_status="Open")

    preview = client.post(IMPORT_URL, {"file": SimpleUploadedFile("qa.json", text.encode())})
    page = preview.content.decode()
    assert preview.status_code == 200 and 'class="diff-changed"' in page
    assert "sage_300 / approved" in page and "<del>Open</del>" in page
    assert StatusMapping.objects.get(erp="sage_300", paytrace_status="approved").erp_status == "Open"

    apply = client.post(
        IMPORT_URL,
        {
            "document": preview.context["document_text"],
            "expected_version": preview.context["diff"].current_version,
            "confirmed": "yes",
            "reason": "back to QA",
        },
    )
    assert apply.status_code == 302
    assert StatusMapping.objects.get(erp="sage_300", paytrace_status="approved").erp_status == "Paid"
    assert AuditEvent.objects.get(action="mappings.import").actor.username == "integration-admin"

    bad = client.post(IMPORT_URL, {"file": SimpleUploadedFile("x.json", b"nonsense")})
    assert bad.status_code == 200 and "Not a JSON document" in bad.content.decode()


@pytest.mark.parametrize("case", ["UTF-16", "Latin-1", "not JSON", "deeply nested", "NaN"])
def test_admin_import_answers_an_unreadable_file_with_a_form_error(mappings, client, case):
    encode, message = UNREADABLE_FILES[case]
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("qa.json", encode(exported()))})
    assert response.status_code == 200
    assert response.context["error"].startswith(f"Not a JSON document: {message}")
    assert 'id="import-error"' in response.content.decode()
    # The document pasted back on "Apply" is checked the same way.
    deep = client.post(IMPORT_URL, {"document": "[" * 100_000 + "]" * 100_000, "confirmed": "yes"})
    assert deep.status_code == 200 and "nested deeper than 32 levels" in deep.context["error"]
    assert not MappingSnapshot.objects.filter(direction="import").exists()


def test_admin_import_of_a_utf8_file_with_a_byte_order_mark_previews_and_applies(mappings, client):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    text = exported()
    StatusMapping.objects.filter(erp="sage_300", paytrace_status="approved").update(erp_status="Open")
    upload = SimpleUploadedFile("qa.json", b"\xef\xbb\xbf" + text.encode())
    preview = client.post(IMPORT_URL, {"file": upload})
    assert preview.context["error"] == "" and preview.context["document_text"] == text
    apply = client.post(
        IMPORT_URL,
        {
            "document": preview.context["document_text"],
            "expected_version": preview.context["diff"].current_version,
            "confirmed": "yes",
        },
    )
    assert apply.status_code == 302
    assert StatusMapping.objects.get(erp="sage_300", paytrace_status="approved").erp_status == "Paid"


def test_reviewer_may_neither_export_nor_import(mappings, client):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(reverse("admin:integrations_mappingsnapshot_export")).status_code == 403
    changelist = client.get(reverse("admin:integrations_mappingsnapshot_changelist")).content.decode()
    assert 'id="export-mappings"' not in changelist


def test_the_status_write_back_action_travels_with_the_mappings(mappings):
    """The demo's declined rows write the status back; a document exported where Sage 300's was set to
    none imports as such elsewhere (audited), and an action nobody knows is refused."""
    declined = StatusMapping.objects.filter(paytrace_status="declined")
    assert set(declined.values_list("action", "erp_status")) == {("status_note", "Payment Failed")}
    declined.filter(erp="sage_300").update(action="none")
    document = mappings_document_parse(text=exported())
    declined.update(action="status_note")  # the other environment, before the import

    mappings_import(document=document)
    actions = dict(declined.values_list("erp", "action"))
    assert actions == {"sage_300": "none", "sage_x3": "status_note", "sage_pro": "status_note"}
    assert AuditEvent.objects.filter(action="mappings.import").count() == 1

    raw = json.loads(exported())
    rows = raw["tables"]["status_mappings"]
    next(row for row in rows if row["paytrace_status"] == "declined")["action"] = "x"
    with pytest.raises(MappingFileError, match="action"):
        mappings_document_parse(text=json.dumps(raw))
