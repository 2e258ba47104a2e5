"""The role matrix: as each role, every model registered in the admin site and every admin action, asked
for directly with GET and POST (changelist, add, change and delete pages, each action posted to the
changelist). What the role may do succeeds; everything else is refused (403, or the login page for a
login that is not staff) and leaves the database as it was.

The expectations are written here, apart from portal/roles.py: a model or an action added later that no
one decided about is refused to every role, and this test says so."""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.urls import reverse

from integrations.models import AuditEvent, ErpPosting
from portal.roles import AUDITOR, FINANCE_REVIEWER, INTEGRATION_ADMIN, STOREFRONT
from tests import factories as f
from tests.admin_pages import action_ran, admin_url, form_data, offered_actions
from tests.portal.test_admin import build_world
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

OUR_APPS = {"integrations", "customers", "payments"}
TOKEN_APPS = {"authtoken", "knox"}
CONFIGURATION = frozenset(
    {
        "integrations.connection",
        "integrations.statusmapping",
        "integrations.paymentmethodmapping",
        "integrations.glaccountrule",
        "integrations.currencyrate",
        "integrations.fielddefault",
    }
)
# The queue decisions and money actions of a finance reviewer.
DECISIONS = {
    "integrations.erpposting": {"replay_dead_letters", "cancel_postings"},
    "integrations.webhookevent": {"reprocess_events"},
    "integrations.alert": {"acknowledge_alerts"},
    "customers.duplicatecandidate": {"same_customer", "different_customers"},
    "payments.riskassessment": {"approve", "reject", "reject_and_refund"},
    "payments.transaction": {"refund_or_void"},
    "payments.allocation": {"undo_allocations"},
    "payments.reconciliationexception": {"resolve_exceptions", "write_off_exceptions", "link_exception"},
    "payments.subscription": {
        "subscriptions_charge_now_action",
        "subscriptions_cancel_action",
        "subscriptions_resume_action",
    },
}
# The integration admin's tools, and "delete selected" on what it edits.
TOOLS = {
    "integrations.connection": {"test_connections", "delete_selected"},
    "integrations.mappingsnapshot": {"import_snapshot"},
} | {label: {"delete_selected"} for label in CONFIGURATION - {"integrations.connection"}}


def _app(label: str) -> str:
    return label.split(".")[0]


@dataclass(frozen=True)
class Allowed:
    view: Callable[[str], bool]  # model label -> may open its pages
    edit: frozenset[str] = frozenset()  # add, change and delete through the forms
    actions: dict[str, set[str]] = field(default_factory=dict)
    staff: bool = True


ALLOWED = {
    AUDITOR: Allowed(view=lambda label: _app(label) not in TOKEN_APPS),
    FINANCE_REVIEWER: Allowed(
        view=lambda label: _app(label) in OUR_APPS and label != "integrations.connection", actions=DECISIONS
    ),
    INTEGRATION_ADMIN: Allowed(view=lambda label: _app(label) in OUR_APPS, edit=CONFIGURATION, actions=TOOLS),
    # The API's login: not staff, so the admin shows it the login page and nothing else.
    STOREFRONT: Allowed(view=lambda label: False, staff=False),
}


@pytest.fixture
def world():
    build_world(1)
    f.ErpPostingFactory(status="dead")
    # The last connection, the one posted to: unused by other rows, and a "test connection" of it is
    # refused at once.
    f.ConnectionFactory(name="unreachable", base_url="http://127.0.0.1:9/", options={"timeout": 1})
    f.QueueTaskFactory(success=True)
    f.QueueTaskFactory(success=False)
    f.QueuedTaskFactory()
    owner = f.UserFactory(username="key-owner", is_staff=False)
    for model in admin.site._registry:
        if model._meta.app_label in TOKEN_APPS:
            model._default_manager.create(user=owner)


def role_login(role: str):
    if ALLOWED[role].staff:
        return staff_user(role=role)
    user = f.UserFactory(username="storefront", is_staff=False)
    user.groups.add(Group.objects.get(name=role))
    return user


def rows(model) -> list[dict]:
    return list(model._default_manager.order_by("pk").values())


class Matrix:
    """Asks for one role's pages and collects every answer that is not what the role may get."""

    def __init__(self, client, role: str) -> None:
        self.client, self.allowed, self.wrong = client, ALLOWED[role], []

    def refused(self, response, what: str) -> None:
        if self.allowed.staff:
            ok = response.status_code == 403
        else:
            ok = response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
        if not ok:
            self.wrong.append(f"{what}: {response.status_code}, expected a refusal")

    def answered(self, response, status: int, what: str) -> None:
        if response.status_code != status:
            self.wrong.append(f"{what}: {response.status_code}, expected {status}")

    def model(self, model, model_admin) -> None:
        label = model._meta.label_lower
        row = model._default_manager.order_by("-pk").first()
        assert row is not None, f"the world has no {label}: give it one"
        urls = {view: admin_url(model, view) for view in ("changelist", "add")}
        urls |= {view: admin_url(model, view, row.pk) for view in ("change", "delete")}
        changelist = self.pages(label, urls)
        may_run = self.allowed.actions.get(label, set())
        declared = {name for _, name, _ in model_admin._get_base_actions()}
        if unknown := may_run - declared:
            self.wrong.append(f"{label} has no action {sorted(unknown)}")
        if self.allowed.view(label) and (offered := offered_actions(changelist)) != may_run:
            self.wrong.append(f"{label} offers {sorted(offered)}, expected {sorted(may_run)}")

        before, audited = rows(model), AuditEvent.objects.count()
        if label not in self.allowed.edit:
            self.writes_refused(label, model_admin, row, urls)
        for action in sorted(declared - may_run):
            response = self.action_post(urls, action, row)
            if not self.allowed.view(label):
                self.refused(response, f"POST {action} on {label}")
            elif action_ran(response):
                self.wrong.append(f"{action} on {label} ran")
        self.object_actions(label, model_admin, row, may_run)
        if rows(model) != before or AuditEvent.objects.count() != audited:
            self.wrong.append(f"refused requests changed {label}")

        for action in sorted(may_run & declared):
            # Every one asks for confirmation first, or (a connection test) answers at once.
            if not action_ran(response := self.action_post(urls, action, row)):
                self.wrong.append(f"{action} on {label} did not run: {response.status_code}")
        if label in self.allowed.edit:
            self.edit(model, row, urls)

    def object_actions(self, label: str, model_admin, row, may_run: set[str]) -> None:
        """The list's actions as buttons on the row's page: offered to the roles that may run them (when the
        row's state fits), and each button's address answers as the list action does: with its confirmation
        page, which decides nothing, or a refusal."""
        buttons = getattr(model_admin, "object_actions", {})
        if unknown := set(buttons) - {name for _, name, _ in model_admin._get_base_actions()}:
            self.wrong.append(f"{label} has buttons for no action: {sorted(unknown)}")
        if not buttons:
            return
        if self.allowed.view(label):
            change = self.client.get(admin_url(model_admin.model, "change", row.pk))
            shown = {button.name for button in change.context.get("object_action_buttons", [])}
            expected = {name for name, applies in buttons.items() if name in may_run and applies(row)}
            if shown != expected:
                self.wrong.append(f"{label} page shows buttons {sorted(shown)}, expected {sorted(expected)}")
        opts = model_admin.model._meta
        for action in sorted(buttons):
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_object_action", args=[row.pk, action])
            response = self.client.post(url)
            if action in may_run and self.allowed.view(label):
                if response.status_code != 200 or "confirmed" not in response.content.decode():
                    self.wrong.append(f"button {action} on {label}: {response.status_code}, no confirmation")
            else:
                self.refused(response, f"POST button {action} on {label}")

    def pages(self, label: str, urls: dict[str, str]):
        """GET each page; returns the changelist."""
        may_view, may_edit = self.allowed.view(label), label in self.allowed.edit
        changelist = self.client.get(urls["changelist"])
        change = self.client.get(urls["change"])
        if may_view:
            self.answered(changelist, 200, f"GET {label} changelist")
            self.answered(change, 200, f"GET {label} change page")
            if change.status_code == 200 and change.context["has_change_permission"] != may_edit:
                self.wrong.append(f"{label} change page editable: {not may_edit}")
        else:
            self.refused(changelist, f"GET {label} changelist")
            self.refused(change, f"GET {label} change page")
        for view in ("add", "delete"):
            response = self.client.get(urls[view])
            if may_edit:
                self.answered(response, 200, f"GET {label} {view}")
            else:
                self.refused(response, f"GET {label} {view}")
        return changelist

    def writes_refused(self, label: str, model_admin, row, urls: dict[str, str]) -> None:
        self.refused(self.client.post(urls["add"], {}), f"POST {label} add")
        self.refused(self.client.post(urls["change"], {}), f"POST {label} change")
        self.refused(self.client.post(urls["delete"], {"post": "yes"}), f"POST {label} delete")
        if model_admin.list_editable:  # the list's own edit form: nothing to check but the rows after
            edited = {f"form-0-{name}": "X" for name in model_admin.list_editable}
            management = {"_save": "Save", "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1"}
            self.client.post(urls["changelist"], {**management, "form-0-id": row.pk, **edited})

    def action_post(self, urls: dict[str, str], action: str, row):
        data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [row.pk]}
        return self.client.post(urls["changelist"], data)

    def edit(self, model, row, urls: dict[str, str]) -> None:
        """Save the row unchanged, delete it, add it again: each answered with the redirect of success."""
        label, manager = model._meta.label_lower, model._default_manager
        data = form_data(self.client.get(urls["change"]))
        count = manager.count()
        self.answered(self.client.post(urls["change"], data), 302, f"POST {label} change")
        self.answered(self.client.post(urls["delete"], {"post": "yes"}), 302, f"POST {label} delete")
        if manager.filter(pk=row.pk).exists():
            self.wrong.append(f"{label} not deleted")
        self.answered(self.client.post(urls["add"], data), 302, f"POST {label} add")
        if manager.count() != count:
            self.wrong.append(f"{label} not added again")


@pytest.mark.parametrize("role", [FINANCE_REVIEWER, INTEGRATION_ADMIN, AUDITOR, STOREFRONT])
def test_every_admin_model_and_action_answers_as_the_role_allows(client, world, role):
    client.force_login(role_login(role))
    audited = AuditEvent.objects.count()
    matrix = Matrix(client, role)
    dashboard = client.get(reverse("admin:index"))
    if ALLOWED[role].staff:
        matrix.answered(dashboard, 200, "GET dashboard")  # the dashboard is for every role
    else:
        matrix.refused(dashboard, "GET dashboard")
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        matrix.model(model, model_admin)
    assert not matrix.wrong, "\n".join(matrix.wrong)
    if not ALLOWED[role].edit:
        assert AuditEvent.objects.count() == audited  # nothing was confirmed, so nothing was decided
    assert ErpPosting.objects.filter(status="dead").exists()  # nor replayed


def test_the_matrix_covers_every_model_of_the_admin_site():
    """New models are walked without being named; only the expectations above name any."""
    labels = {model._meta.label_lower for model in admin.site._registry}
    assert {"django_q.schedule", "auth.user", "integrations.connection", "payments.subscription"} <= labels
    assert set(DECISIONS) | set(TOOLS) | CONFIGURATION <= labels
