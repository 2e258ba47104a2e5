import pytest
from django.contrib.auth.models import Group, Permission

from portal.roles import AUDITOR, FINANCE_REVIEWER, INTEGRATION_ADMIN

pytestmark = pytest.mark.django_db


def codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_the_three_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR}


def test_auditor_views_everything_and_changes_nothing():
    perms = codenames(AUDITOR)
    assert perms and all(code.startswith("view_") for code in perms)
    for model in ("transaction", "erpposting", "connection", "auditevent", "glaccountrule", "invoice"):
        assert f"view_{model}" in perms


def test_finance_reviewer_decides_queue_items_but_not_configuration():
    perms = codenames(FINANCE_REVIEWER)
    assert {"change_riskassessment", "change_erpposting", "change_duplicatecandidate"} <= perms
    assert "view_connection" not in perms
    for model in ("connection", "statusmapping", "glaccountrule", "paymentmethodmapping", "fielddefault"):
        assert f"change_{model}" not in perms
        assert f"add_{model}" not in perms


def test_integration_admin_edits_connections_and_mappings_but_not_the_audit_trail():
    perms = codenames(INTEGRATION_ADMIN)
    for model in ("connection", "statusmapping", "glaccountrule", "currencyrate", "fielddefault"):
        assert {f"add_{model}", f"change_{model}", f"delete_{model}"} <= perms
    assert "change_auditevent" not in perms and "delete_auditevent" not in perms
    assert "view_auditevent" in perms


def test_roles_cover_every_model_permission_after_migrate():
    view_perms = set(
        Permission.objects.filter(codename__startswith="view_").values_list("codename", flat=True)
    )
    assert "view_transaction" in view_perms
    assert codenames(AUDITOR) >= {p for p in view_perms if p in {"view_order", "view_settlementbatch"}}
