"""The Sage Pro CSV drop: cells that a spreadsheet would run are escaped, numbers stay numbers, and the
drop folder lies under SAGEPRO_DROP_ROOT, symlinks resolved, when the connection is saved and at each
use by the connector."""

import csv
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.models import Connection, System
from integrations.sage.base import ErpPermanentError
from integrations.sage.registry import connector_for
from integrations.sage.sagepro.csvdrop import CsvDropFolder, csv_cell_escape
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.SAGEPRO_DROP_ROOT = tmp_path / "drop-root"
    settings.SAGEPRO_DROP_ROOT.mkdir()
    return settings.SAGEPRO_DROP_ROOT


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder laid out like a drop folder, but outside the root."""
    for name in ("in", "out", "export"):
        (tmp_path / "elsewhere" / name).mkdir(parents=True)
    return tmp_path / "elsewhere"


def _laid_out(folder: Path) -> Path:
    for name in ("in", "out", "export"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return folder


# --- CSV injection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-1e5", "'-1e5"),  # we never write exponents: this is text that looks like a number
        ("-12.50", "-12.50"),  # a negative amount stays a number Sage Pro's import reads as one
        ("-45", "-45"),
        ("125.00", "125.00"),
        ("Acme = best", "Acme = best"),
        ("", ""),
    ],
)
def test_a_cell_starting_like_a_formula_is_escaped_unless_it_is_a_number(cell, written):
    assert csv_cell_escape(cell) == written


def test_the_import_file_holds_escaped_text_and_plain_numbers(root):
    folder = _laid_out(root / "acme")
    drop = CsvDropFolder(folder="acme", wait_seconds=0)
    receipt = {
        "CUSTNO": "C1005",
        "CHECKNO": "PT-8001",
        "PAYAMT": "-45.00",
        "DESCRIPT": '=HYPERLINK("http://evil.example","refund")',
        "REVERSES": "R0001",
        "APPLS": [],
    }
    [pending] = drop.create("payments", [receipt])
    assert pending.code == "IMPORT_PENDING"  # nobody imports here: the file stays in in/
    [path] = (folder / "in").glob("ARCASH_*.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["PAYAMT"] == "-45.00"
    assert row["DESCRIPT"] == '\'=HYPERLINK("http://evil.example","refund")'
    assert drop.transcript_take()[0]["request"][0]["DESCRIPT"].startswith("'=")


# --- the drop folder's root -------------------------------------------------------------------------


def _sagepro(folder) -> Connection:
    return Connection(
        name="sagepro-csv",
        system=System.SAGE_PRO,
        base_url="https://sagepro.example",
        credentials={},
        options={"transport": "csv", "drop_folder": folder},
    )


def _saved(**options) -> Connection:
    """A connection as it may sit in the database: saved without validation, e.g. before this check."""
    return ConnectionFactory(system=System.SAGE_PRO, options={"transport": "csv", **options})


@pytest.mark.parametrize(
    "folder",
    ["../../../../etc", "/etc", "acme/../../elsewhere", "", None, 42, "acme\x00"],
    ids=["dot-dot", "absolute", "dot-dot inside", "blank", "missing", "not text", "NUL"],
)
def test_saving_a_connection_refuses_a_drop_folder_outside_the_root(root, folder):
    with pytest.raises(ValidationError) as refused:
        _sagepro(folder).clean()
    assert list(refused.value.message_dict) == ["options"]
    assert refused.value.message_dict["options"][0].startswith("drop_folder: ")


def test_a_symlink_out_of_the_root_is_refused_on_save(root, outside):
    (root / "acme").symlink_to(outside)
    with pytest.raises(ValidationError, match="outside SAGEPRO_DROP_ROOT"):
        _sagepro("acme").clean()
    with pytest.raises(ValidationError, match="outside SAGEPRO_DROP_ROOT"):
        _sagepro(str(root / "acme")).clean()


@pytest.mark.parametrize("folder", ["acme", "sites/acme", "ABSOLUTE"])
def test_a_folder_under_the_root_is_accepted(root, folder):
    (root / "sites").mkdir()
    (root / "sites" / "link").symlink_to(root / "sites")  # a link that stays inside is fine
    _sagepro(str(root / "acme") if folder == "ABSOLUTE" else folder).clean()
    _sagepro("sites/link/acme").clean()


def test_other_connections_are_not_concerned(root):
    Connection(
        name="x3", system=System.SAGE_X3, base_url="https://x3.example", credentials={}, options={}
    ).clean()


def test_the_admin_form_names_the_options_field(root, client):
    client.force_login(UserFactory(is_superuser=True))
    connection = _saved(drop_folder="acme")
    form = {
        "name": connection.name,
        "system": connection.system,
        "environment": connection.environment,
        "base_url": connection.base_url,
        "is_active": "on",
        "options": '{"transport": "csv", "drop_folder": "../../../../etc"}',
        "credentials_update": "",
    }
    response = client.post(reverse("admin:integrations_connection_change", args=[connection.pk]), form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "options" in errors and "outside SAGEPRO_DROP_ROOT" in errors["options"][0]
    connection.refresh_from_db()
    assert connection.options["drop_folder"] == "acme"


def test_the_connector_refuses_to_touch_a_folder_that_left_the_root_after_it_was_saved(root, outside):
    _laid_out(root / "acme")
    connection = _saved(drop_folder="acme")
    connection.clean()
    (root / "acme" / "in").rmdir()
    (root / "acme" / "in").symlink_to(outside / "in")  # in/ now leads out of the root
    connector = connector_for(connection)
    with pytest.raises(ErpPermanentError) as refused:
        connector.transport.create("customers", [{"COMPANY": "Acme"}])
    assert refused.value.code == "DROP_FOLDER" and "outside SAGEPRO_DROP_ROOT" in refused.value.message
    assert not any((outside / "in").iterdir())
    check = connector.connection_test()
    assert not check.ok and "outside SAGEPRO_DROP_ROOT" in check.message


@pytest.mark.parametrize("options", [{}, {"drop_folder": "../../../../etc"}], ids=["no folder", "dot-dot"])
def test_a_connection_saved_before_the_root_existed_fails_its_check_with_a_reason(root, options):
    connector = connector_for(_saved(**options))
    check = connector.connection_test()
    assert not check.ok and "DROP_FOLDER" in check.message
