"""Tokens, permissions and the per-token throttle; the transaction and health reads."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from payments.api import urls as api_urls
from payments.api.throttling import TokenRateThrottle
from payments.models import Allocation, RiskAssessment
from payments.services.api_tokens import api_token_create
from tests.factories import (
    ConnectionFactory,
    ErpPostingFactory,
    InvoiceFactory,
    OrderFactory,
    TransactionFactory,
    UserFactory,
)
from tests.integrations import raw_servers

pytestmark = pytest.mark.django_db


def client_with(token: str | None = None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.parametrize("path", ["/api/v1/orders/WEB-1/", "/api/v1/transactions/1/", "/api/v1/health/"])
def test_no_token_is_a_401_in_the_error_shape(path):
    response = client_with().get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_or_an_inactive_user_is_refused(api_token):
    assert client_with("0" * 40).get("/api/v1/health/").json()["error"]["code"] == "authentication_failed"
    api_token.token.user.is_active = False
    api_token.token.user.save()
    assert client_with(api_token.key).get("/api/v1/health/").status_code == 401


def test_a_token_without_the_api_permissions_is_a_403():
    token = api_token_create(actor=None, user=UserFactory(username="someone", is_staff=False))
    client = client_with(token.key)
    for response in (client.get("/api/v1/orders/WEB-1/"), client.post("/api/v1/orders/", {}, format="json")):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_each_token_has_its_own_budget(api, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/minute"})
    for _ in range(3):
        assert api.get("/api/v1/orders/NOPE/").status_code == 404
    throttled = api.get("/api/v1/orders/NOPE/")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert throttled.json()["error"]["retry_after_seconds"] > 0
    other = api_token_create(actor=None, user=UserFactory(username="other-shop", is_superuser=True))
    assert client_with(other.key).get("/api/v1/orders/NOPE/").status_code == 404


def test_an_unknown_order_or_transaction_is_a_404(api):
    for path in ("/api/v1/orders/WEB-404/", "/api/v1/transactions/404/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_transaction_shows_erp_documents_applications_and_the_review_hold(api):
    paytrace = ConnectionFactory(system="paytrace")
    order = OrderFactory()
    payment = TransactionFactory(connection=paytrace, order=order, amount_applied=Decimal("60.00"))
    invoice = InvoiceFactory(invoice_number="INV-42")
    Allocation.objects.create(
        payment=payment, invoice=invoice, amount=Decimal("60.00"), currency="USD", rule="reference"
    )
    ErpPostingFactory(
        transaction=payment, connection=order.erp_connection, reference=payment.transaction_id, status="held"
    )
    RiskAssessment.objects.create(transaction=payment, score=80, status="flagged")

    answer = api.get(f"/api/v1/transactions/{payment.transaction_id}/").json()
    assert answer["held_for_review"] is True
    assert answer["order_id"] == order.order_id
    assert answer["applications"] == [
        {
            "invoice_number": "INV-42",
            "amount": "60.00",
            "currency": "USD",
            "rule": "reference",
            "reversed_at": None,
        }
    ]
    assert [(d["document_type"], d["status"], d["erp"]) for d in answer["erp_documents"]] == [
        ("receipt", "held", "sage_300")
    ]
    assert answer["last4"] == "5439" and not {"card_number", "number", "cvv"} & set(answer)


@pytest.fixture
def monitor() -> APIClient:
    """An operator's token: its user holds only the health permission."""
    user = UserFactory(username="monitoring", is_staff=False)
    user.user_permissions.add(Permission.objects.get(codename="view_health"))
    return client_with(api_token_create(actor=None, user=user).key)


def test_health_needs_the_health_permission_which_no_storefront_permission_gives(api):
    """Before: any token read the health of every system."""
    views = [getattr(pattern.callback, "view_class", None) for pattern in api_urls.urlpatterns]
    storefront = {view.required_permission for view in views if hasattr(view, "required_permission")}
    assert "integrations.view_health" not in storefront
    assert api.get("/api/v1/health/").status_code == 403
    everything = UserFactory(username="all-storefront-perms", is_staff=False)
    everything.user_permissions.add(
        *(
            Permission.objects.get(content_type__app_label=label, codename=codename)
            for label, codename in (perm.split(".") for perm in storefront)
        )
    )
    response = client_with(api_token_create(actor=None, user=everything).key).get("/api/v1/health/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_health_is_503_when_a_connection_does_not_answer_and_says_only_a_classified_reason(monitor):
    """Before: each check carried the remote's answer, and the ERP company code."""
    ConnectionFactory(
        name="Sage 300 (gone)",
        system="sage_300",
        base_url=f"http://127.0.0.1:{raw_servers.closed_port()}/x",
        options={"company": "SAMLTD"},
    )
    body = b"<html>Internal wiki: SECRET-PAGE-4711</html>"
    with raw_servers.raw_server(raw_servers.http_answer(500, body)) as server:
        ConnectionFactory(
            name="Sage X3 (moved)", system="sage_x3", base_url=server.url, options={"folder": "SEED"}
        )
        response = monitor.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["ok"] is False
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert {key for check in checks.values() for key in check} == {"name", "system", "ok", "reason"}
    assert checks["database"] == {"name": "database", "system": "", "ok": True, "reason": "ok"}
    assert checks["broker"]["reason"] == "ok"
    assert checks["Sage 300 (gone)"] == {
        "name": "Sage 300 (gone)", "system": "sage_300", "ok": False, "reason": "unreachable"
    }  # fmt: skip
    assert checks["Sage X3 (moved)"]["reason"] == "unexpected answer (HTTP 500)"
    text = response.content.decode()
    assert "SAMLTD" not in text and "SEED" not in text and "SECRET-PAGE" not in text


@pytest.mark.django_db(transaction=True)
def test_health_is_200_when_everything_answers_and_names_no_company(monitor, demo_world):
    response = monitor.get("/api/v1/health/")
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    names = {check["name"] for check in checks}
    assert {"database", "broker", *(c.name for c in demo_world["connections"].values())} <= names
    assert {check["reason"] for check in checks} == {"ok"}
    text = response.content.decode()
    for company in ("SAMLTD", "SEED", "PAYSAGE"):  # Sage 300 company, X3 folder and pool
        assert company not in text


def test_liveness_needs_no_token_and_says_only_up_or_down(monkeypatch):
    response = client_with().get("/api/v1/health/live/")
    assert (response.status_code, response.json()) == (200, {"status": "up"})
    # A stray or stale token does not turn a load balancer's probe into a 401.
    assert client_with("0" * 40).get("/api/v1/health/live/").json() == {"status": "up"}
    monkeypatch.setattr("payments.api.views.database_live", lambda: False)
    response = client_with().get("/api/v1/health/live/")
    assert (response.status_code, response.json()) == (503, {"status": "down"})


def test_liveness_is_not_throttled(monkeypatch):
    """Behind a proxy every anonymous caller shares one budget: a flood must not take the node out."""
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/minute"})
    assert all(client_with().get("/api/v1/health/live/").status_code == 200 for _ in range(5))
