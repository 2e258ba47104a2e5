"""The admin's navigation by task: review queues, money, ERP documents, configuration, system, in a finance
person's words, on the index, in Django's sidebar and on each group's page."""

import pytest
from django.contrib import admin
from django.urls import reverse

from portal.admin_nav import NAV_GROUPS, OTHER, nav_groups
from portal.roles import AUDITOR, FINANCE_REVIEWER
from tests.staff import staff_user

pytestmark = pytest.mark.django_db
GROUPS = ["Review queues", "Money", "ERP documents", "Configuration", "System"]


def names(app: dict) -> list[str]:
    return [model["name"] for model in app["models"]]


def test_every_model_of_the_admin_site_has_its_place():
    placed = {entry.model for group in nav_groups() for entry in group.entries}
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered <= placed, f"not in any group: {sorted(registered - placed)}"
    assert [group.name for group in nav_groups()] == GROUPS


def test_the_index_lists_the_groups_in_finance_words(client):
    client.force_login(staff_user(role=None))

    apps = client.get(reverse("admin:index")).context["app_list"]

    assert [app["name"] for app in apps] == GROUPS  # nothing left for "Other"
    queues, money, erp, configuration, system = apps
    assert names(queues) == [
        "Flagged payments",
        "Dead letters",
        "Reconciliation exceptions",
        "Duplicate customers",
        "Unacknowledged alerts",
        "Failed webhook events",
    ]
    assert "Documents sent to the ERP" in names(erp) and "GL accounts" in names(configuration)
    assert "Scheduled jobs" in names(system) and "Task queue" not in str(apps)
    links = {model["name"]: model["admin_url"] for model in queues["models"]}
    assert links["Dead letters"] == "/admin/integrations/erpposting/?status__exact=dead"
    assert links["Flagged payments"] == "/admin/payments/riskassessment/?status__exact=flagged"
    assert links["Unacknowledged alerts"] == "/admin/integrations/alert/?acknowledged_at__isnull=1"
    assert links["Failed webhook events"] == "/admin/integrations/webhookevent/?status__in=dead%2Cfailed"
    assert all(model["add_url"] is None for model in queues["models"])
    assert money["models"][0]["name"] == "Payments and refunds"


def test_each_queue_link_opens_its_waiting_items(client):
    client.force_login(staff_user(role=None))
    (queues, *_) = client.get(reverse("admin:index")).context["app_list"]
    for model in queues["models"]:
        assert client.get(model["admin_url"]).status_code == 200, model["admin_url"]


def test_a_role_sees_only_what_it_may_open(client):
    client.force_login(staff_user(role=FINANCE_REVIEWER))

    apps = client.get(reverse("admin:index")).context["app_list"]

    shown = {name for app in apps for name in names(app)}
    assert "Connections" not in shown and "Scheduled jobs" not in shown and "API keys" not in shown
    assert "Flagged payments" in shown and "Payments and refunds" in shown


def test_the_sidebar_shows_the_groups_and_each_group_has_its_page(client):
    client.force_login(staff_user(role=AUDITOR))

    page = client.get(reverse("admin:payments_transaction_changelist")).content.decode()

    assert 'id="nav-sidebar"' in page and "Review queues" in page and "Payments and refunds" in page
    group = client.get(reverse("admin:nav_group", kwargs={"group": "erp-documents"}))
    assert group.status_code == 200 and "Journal entries" in group.content.decode()
    assert [app["name"] for app in group.context["app_list"]] == ["ERP documents"]
    assert client.get(reverse("admin:nav_group", kwargs={"group": "nowhere"})).status_code == 404


def test_an_apps_own_page_still_lists_that_app(client):
    client.force_login(staff_user(role=AUDITOR))

    response = client.get(reverse("admin:app_list", kwargs={"app_label": "payments"}))

    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == ["payments"]


def test_a_model_no_group_names_is_shown_under_other(client, monkeypatch):
    money, *rest = NAV_GROUPS
    monkeypatch.setattr(
        "portal.admin_nav.NAV_GROUPS",
        (type(money)(money.name, tuple(e for e in money.entries if e.model != "payments.invoice")), *rest),
    )
    client.force_login(staff_user(role=None))

    apps = client.get(reverse("admin:index")).context["app_list"]

    assert apps[-1]["name"] == OTHER and [m["object_name"] for m in apps[-1]["models"]] == ["Invoice"]


def test_the_models_are_named_with_their_acronyms(client):
    client.force_login(staff_user(role=AUDITOR))
    page = client.get(reverse("admin:integrations_erpposting_changelist")).content.decode()
    assert "Select ERP posting to view" in page
