import pytest
from django.contrib.auth.models import Group, Permission

from payments.api.permissions import api_permissions_required
from portal.roles import (
    AUDITOR,
    FINANCE_REVIEWER,
    INTEGRATION_ADMIN,
    ROLES,
    STOREFRONT,
    PermissionRef,
    role_grants,
)

pytestmark = pytest.mark.django_db


def codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def labels(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        FINANCE_REVIEWER,
        INTEGRATION_ADMIN,
        AUDITOR,
        STOREFRONT,
    }


def test_auditor_views_everything_and_changes_nothing():
    perms = codenames(AUDITOR)
    assert perms and all(code.startswith("view_") for code in perms)
    for model in ("transaction", "erpposting", "connection", "auditevent", "glaccountrule", "invoice"):
        assert f"view_{model}" in perms


def test_finance_reviewer_decides_queue_items_but_not_configuration():
    perms = codenames(FINANCE_REVIEWER)
    assert {"change_riskassessment", "change_erpposting", "change_duplicatecandidate"} <= perms
    assert {"change_transaction", "change_allocation", "change_subscription"} <= perms  # money actions
    assert "view_connection" not in perms
    for model in ("connection", "statusmapping", "glaccountrule", "paymentmethodmapping", "fielddefault"):
        assert f"change_{model}" not in perms
        assert f"add_{model}" not in perms
    assert "change_riskpolicy" not in perms
    assert "change_subscription_terms" not in perms  # the decision, never the amount or the customer


def test_integration_admin_edits_connections_and_mappings_but_not_the_audit_trail():
    perms = codenames(INTEGRATION_ADMIN)
    for model in ("connection", "statusmapping", "glaccountrule", "currencyrate", "fielddefault"):
        assert {f"add_{model}", f"change_{model}", f"delete_{model}"} <= perms
    assert "change_auditevent" not in perms and "delete_auditevent" not in perms
    assert "view_auditevent" in perms


def test_integration_admin_changes_no_payment_nor_queue_item():
    """It voided a $2,400 sale and could approve flagged payments: configuration only now."""
    changes = {code for code in codenames(INTEGRATION_ADMIN) if not code.startswith("view_")}
    edited = ["connection", "statusmapping", "paymentmethodmapping", "glaccountrule", "currencyrate"]
    edited.append("fielddefault")
    expected = {f"{action}_{model}" for model in edited for action in ("add", "change", "delete")}
    assert changes == expected | {"add_mappingsnapshot"}  # a snapshot is made by an export or an import
    apps = {label.split(".")[0] for label in labels(INTEGRATION_ADMIN)}
    assert apps == {"integrations", "customers", "payments"}  # nothing on django_q, auth or tokens


def test_no_role_can_change_the_task_queue_nor_see_api_keys():
    for role in ROLES:
        held = labels(role)
        assert not {label for label in held if label.startswith("django_q.") and ".view_" not in label}, role
        assert not {label for label in held if label.split(".")[0] in ("authtoken", "knox")}, role
    assert {label for label in labels(AUDITOR) if label.startswith("django_q.")} >= {"django_q.view_schedule"}


@pytest.mark.parametrize("role", ROLES)
def test_knox_tokens_are_granted_to_no_role_whichever_token_app_is_installed(role):
    for codename in ("view_authtoken", "add_authtoken", "change_authtoken", "delete_authtoken"):
        permission = PermissionRef(app_label="knox", model="authtoken", codename=codename)
        assert not role_grants(role=role, permission=permission, api_permissions=frozenset())


def test_storefront_holds_exactly_what_the_api_checks():
    assert labels(STOREFRONT) == api_permissions_required()
    assert api_permissions_required() == {
        "payments.add_order",
        "payments.view_order",
        "payments.view_transaction",
        "payments.change_transaction",  # refunds
    }


def test_roles_cover_every_model_permission_after_migrate():
    view_perms = set(
        Permission.objects.filter(codename__startswith="view_").values_list("codename", flat=True)
    )
    assert "view_transaction" in view_perms
    assert codenames(AUDITOR) >= {p for p in view_perms if p in {"view_order", "view_settlementbatch"}}


def test_a_review_queue_declared_by_its_app_is_decided_by_reviewers_without_touching_the_roles(monkeypatch):
    from portal import review_queues
    from portal.roles import roles_sync

    assert "change_synccursor" not in codenames(FINANCE_REVIEWER)
    monkeypatch.setattr(review_queues, "_QUEUES", dict(review_queues._QUEUES))
    review_queues.review_queue_register(
        review_queues.ReviewQueue("integrations.synccursor", "Stuck syncs", {"last_error__gt": ""})
    )
    roles_sync(group_model=Group, permission_model=Permission)
    assert "change_synccursor" in codenames(FINANCE_REVIEWER)
    assert "change_synccursor" not in codenames(INTEGRATION_ADMIN)


def test_the_storefront_holds_what_an_app_registers_as_its_api_permissions(monkeypatch):
    from portal import api_permissions
    from portal.roles import roles_sync

    assert "view_synccursor" not in codenames(STOREFRONT)
    monkeypatch.setattr(api_permissions, "_SOURCES", list(api_permissions._SOURCES))
    api_permissions.api_permissions_register(lambda: {"integrations.view_synccursor"})
    roles_sync(group_model=Group, permission_model=Permission)
    assert "view_synccursor" in codenames(STOREFRONT)


def test_every_review_queue_names_a_model_and_its_waiting_items_query():
    from portal.review_queues import review_queues

    titles = {queue.title for queue in review_queues()}
    expected = ("Flagged payments", "Dead letters", "Failed webhook events", "Reconciliation exceptions")
    assert titles >= {*expected, "Duplicate customers", "Unacknowledged alerts"}
    for queue in review_queues():
        assert queue.items_waiting().count() >= 0
