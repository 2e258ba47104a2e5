"""Roles enforced per screen: as each role, open every admin changelist, change page and add page, and
post every action, and compare with what the role may do.

A Finance reviewer decides queue items but cannot edit connections or mappings, nor open the connections
page; an Integration admin edits those; an Auditor sees everything and changes nothing."""

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.models import AuditEvent, ErpPosting, StatusMapping
from portal.roles import AUDITOR, FINANCE_REVIEWER, INTEGRATION_ADMIN
from tests import factories as f
from tests.portal.test_admin import build_world
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

OUR_APPS = {"integrations", "customers", "payments"}
MAPPINGS = {"statusmapping", "paymentmethodmapping", "glaccountrule", "currencyrate", "fielddefault"}
CONFIGURATION = MAPPINGS | {"connection"}
# Actions of this workspace whose first POST is harmless: a confirmation page, or a check of a
# connection that answers at once.
SAFE_TO_POST = {
    "erpposting": {"replay_dead_letters", "cancel_postings"},
    "webhookevent": {"reprocess_events"},
    "connection": {"test_connections"},
    "mappingsnapshot": {"import_snapshot"},
}
# What each role may open: (app label, model name) -> bool.
MAY_VIEW = {
    AUDITOR: lambda app, model: True,
    FINANCE_REVIEWER: lambda app, model: app in OUR_APPS and model != "connection",
    INTEGRATION_ADMIN: lambda app, model: app in OUR_APPS | {"django_q", "authtoken"},
}


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def offered_actions(response) -> set[str]:
    form = response.context["action_form"] if response.context else None
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.fixture
def world():
    build_world(1)
    # The only row a "test connection" POST may touch: it refuses at once.
    f.ConnectionFactory(name="unreachable", base_url="http://127.0.0.1:9/", options={"timeout": 1})


@pytest.mark.parametrize("role", [FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR])
def test_every_screen_answers_as_the_role_allows(client, world, role):
    client.force_login(staff_user(role=role))
    assert client.get(reverse("admin:index")).status_code == 200  # the dashboard is for everyone
    wrong = []
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        may_view = MAY_VIEW[role](app, name)
        expected = 200 if may_view else 403
        changelist = client.get(admin_url(model, "changelist"))
        if changelist.status_code != expected:
            wrong.append(f"GET {name} changelist: {changelist.status_code}, expected {expected}")
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            change = client.get(admin_url(model, "change", row.pk))
            if change.status_code != expected:
                wrong.append(f"GET {name} change page: {change.status_code}, expected {expected}")
            elif may_view and role == AUDITOR and change.context["has_change_permission"]:
                wrong.append(f"auditor may edit {name}")
        if may_view and role == AUDITOR and (actions := offered_actions(changelist)):
            wrong.append(f"auditor is offered {sorted(actions)} on {name}")
        if name in CONFIGURATION and role != INTEGRATION_ADMIN and offered_actions(changelist):
            wrong.append(f"{role} is offered actions on {name}")
    assert not wrong, "\n".join(wrong)


def mapping_form(mapping: StatusMapping, **changes) -> dict:
    fields = {"erp": mapping.erp, "paytrace_status": mapping.paytrace_status}
    return {**fields, "erp_status": mapping.erp_status, "action": mapping.action, **changes}


@pytest.mark.parametrize("role", [FINANCE_REVIEWER, AUDITOR])
def test_configuration_cannot_be_changed_by_reviewers_or_auditors(client, world, role):
    client.force_login(staff_user(role=role))
    mapping = StatusMapping.objects.first()
    data = mapping_form(mapping, erp_status="X", action="none")
    assert client.post(admin_url(StatusMapping, "change", mapping.pk), data).status_code == 403
    assert client.get(admin_url(StatusMapping, "add")).status_code == 403
    connection = f.ConnectionFactory()
    assert client.post(admin_url(type(connection), "change", connection.pk), {"name": "x"}).status_code == 403
    mapping.refresh_from_db()
    assert mapping.erp_status != "X"


def test_integration_admin_edits_connections_and_mappings(client, world):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    mapping = StatusMapping.objects.first()
    data = mapping_form(mapping, erp_status="Settled", action="receipt")
    assert client.post(admin_url(StatusMapping, "change", mapping.pk), data).status_code == 302
    mapping.refresh_from_db()
    assert mapping.erp_status == "Settled"
    for name in CONFIGURATION:
        model = next(m for m in admin.site._registry if m._meta.model_name == name)
        assert client.get(admin_url(model, "add")).status_code == 200, name


@pytest.mark.parametrize("role", [FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR])
def test_every_action_post_answers_as_the_role_allows(client, world, role):
    """An action the role is not offered does nothing; on a screen the role cannot open it is refused;
    an offered one asks for confirmation (or, for a connection test, answers at once)."""
    client.force_login(staff_user(role=role))
    f.ErpPostingFactory(status="dead")
    wrong = []
    for model, model_admin in admin.site._registry.items():
        app, name = model._meta.app_label, model._meta.model_name
        if app not in OUR_APPS:
            continue
        row = (
            model._default_manager.get(name="unreachable")
            if name == "connection"
            else model._default_manager.order_by("pk").first()
        )
        if row is None:
            continue
        url = admin_url(model, "changelist")
        offered = offered_actions(client.get(url)) if MAY_VIEW[role](app, name) else set()
        declared = {
            action if isinstance(action, str) else action.__name__ for action in model_admin.actions or []
        }
        for action in sorted(declared | {"delete_selected"}):
            response = client.post(url, {"action": action, helpers.ACTION_CHECKBOX_NAME: [row.pk]})
            if not MAY_VIEW[role](app, name):
                expected = {403}
            elif action not in offered:
                # With other actions on offer Django redirects with "No action selected"; with none it
                # shows the changelist again. Either way nothing ran.
                expected = {200, 302}
                shown = [str(m) for m in get_messages(response.wsgi_request)]
                ran = (
                    "No action selected." not in shown
                    if response.status_code == 302
                    else "cl" not in (response.context or {})
                )
                if ran:
                    wrong.append(f"{action} on {name} ran for {role}: {shown}")
            elif action in SAFE_TO_POST.get(name, set()) or action == "delete_selected":
                expected = {200, 302}
            else:
                continue  # another team's action, offered: its own tests decide it
            if response.status_code not in expected:
                wrong.append(f"POST {action} on {name}: {response.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert not AuditEvent.objects.exclude(action__startswith="posting.").exists()
    assert ErpPosting.objects.filter(status="dead").exists()  # nothing was confirmed, so nothing replayed


def test_reviewer_is_offered_the_queue_decisions_and_integration_admin_the_tools(client, world):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    assert offered_actions(client.get(admin_url(ErpPosting, "changelist"))) >= SAFE_TO_POST["erpposting"]
    webhook_events = next(m for m in admin.site._registry if m._meta.model_name == "webhookevent")
    assert "reprocess_events" in offered_actions(client.get(admin_url(webhook_events, "changelist")))
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    connections = next(m for m in admin.site._registry if m._meta.model_name == "connection")
    assert "test_connections" in offered_actions(client.get(admin_url(connections, "changelist")))
    snapshots = next(m for m in admin.site._registry if m._meta.model_name == "mappingsnapshot")
    assert "import_snapshot" in offered_actions(client.get(admin_url(snapshots, "changelist")))
