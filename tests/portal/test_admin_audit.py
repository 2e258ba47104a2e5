"""Every add, change and delete in the admin of a connection, a mapping row, a field default, a GL rule, a
currency rate, the risk policy or a subscription leaves an AuditEvent with the fields before and after;
credentials are named when they change, their values never written."""

import json

import pytest
from django.contrib.admin import helpers

from integrations.models import (
    AuditEvent,
    Connection,
    CurrencyRate,
    FieldDefault,
    GLAccountRule,
    PaymentMethodMapping,
    StatusMapping,
)
from payments.models import RiskPolicy, Subscription
from tests import factories as f
from tests.admin_pages import admin_url, form_data
from tests.portal.test_admin import build_world

pytestmark = pytest.mark.django_db

# Each audited admin, with one field an edit changes and its new value as the form sends it.
EDITS = [
    (Connection, "name", "renamed"),
    (StatusMapping, "erp_status", "Settled"),
    (PaymentMethodMapping, "erp_payment_code", "VI"),
    (GLAccountRule, "account", "6200"),
    (CurrencyRate, "rate", "0.75"),
    (FieldDefault, "value", "y"),
    (RiskPolicy, "flag_threshold", "70"),
    (Subscription, "amount", "59.00"),
]


@pytest.fixture
def root(client):
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    build_world(1)
    f.ConnectionFactory(name="unused")  # the last connection: nothing refers to it, so it can be deleted
    return client


def recorded(model, verb: str, pk) -> AuditEvent:
    """The latest event of this edit of this row."""
    events = AuditEvent.objects.filter(action=f"{model._meta.model_name}.{verb}", subject_id=str(pk))
    return events.latest("pk")


@pytest.mark.parametrize(("model", "name", "value"), EDITS, ids=lambda value: getattr(value, "__name__", ""))
def test_every_edit_by_hand_is_audited_with_before_and_after(root, model, name, value):
    row = model._default_manager.order_by("-pk").first()
    old = str(getattr(row, name))
    change, delete, add = (
        admin_url(model, "change", row.pk),
        admin_url(model, "delete", row.pk),
        admin_url(model, "add"),
    )
    data = form_data(root.get(change))

    assert root.post(change, {**data, name: value}).status_code == 302
    event = recorded(model, "change", row.pk)
    assert event.actor.username == "root"
    assert event.data["changed"] == [name]
    assert str(event.data["before"][name]) == old and str(event.data["after"][name]) == value

    row.refresh_from_db()
    assert root.post(delete, {"post": "yes"}).status_code == 302
    event = recorded(model, "delete", row.pk)
    assert name in event.data["changed"]
    assert str(event.data["before"][name]) == str(getattr(row, name)) and event.data["after"] == {}

    assert root.post(add, data).status_code == 302
    added = model._default_manager.order_by("-pk").first()
    event = recorded(model, "add", added.pk)
    assert event.data["before"] == {} and str(event.data["after"][name]) == old


def test_credentials_are_named_when_changed_never_written(root):
    connection = Connection.objects.get(name="unused")
    url = admin_url(Connection, "change", connection.pk)
    data = form_data(root.get(url))
    root.post(url, {**data, "credentials_update": '{"username": "new-user", "password": "s3cret-pw-9"}'})
    event = recorded(Connection, "change", connection.pk)
    assert event.data == {"changed": ["credentials"], "before": {}, "after": {}}
    # A secret put where it does not belong, in the options, is not copied to the trail either.
    root.post(url, {**data, "options": '{"timeout": 5, "api_password": "opt-s3cret"}'})
    assert recorded(Connection, "change", connection.pk).data["after"]["options"] == {
        "timeout": 5,
        "api_password": "[redacted]",
    }
    root.post(admin_url(Connection, "delete", connection.pk), {"post": "yes"})
    trail = json.dumps(list(AuditEvent.objects.values("data")))
    assert "credentials" in trail
    for secret in ("s3cret-pw-9", "new-user", "demo-password", "opt-s3cret"):
        assert secret not in trail


def test_inline_list_edits_and_delete_selected_are_audited(root):
    mapping = StatusMapping.objects.get()
    root.post(
        admin_url(StatusMapping, "changelist"),
        {
            "_save": "Save",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": mapping.pk,
            "form-0-erp_status": "Cleared",
            "form-0-action": mapping.action,
        },
    )
    event = recorded(StatusMapping, "change", mapping.pk)
    assert event.data == {
        "changed": ["erp_status"],
        "before": {"erp_status": mapping.erp_status},
        "after": {"erp_status": "Cleared"},
    }

    defaults = [FieldDefault.objects.get(), FieldDefault.objects.create(erp="sage_300", field="X", value="1")]
    root.post(
        admin_url(FieldDefault, "changelist"),
        {"action": "delete_selected", "post": "yes", helpers.ACTION_CHECKBOX_NAME: [d.pk for d in defaults]},
    )
    assert not FieldDefault.objects.exists()
    for default in defaults:
        assert recorded(FieldDefault, "delete", default.pk).data["before"]["field"] == default.field
