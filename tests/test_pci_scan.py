"""PCI proof. Every card format seen when the portal was attacked is planted through each way in (the signed
webhook, on both its entries; the PayTrace transaction and vault syncs; the Sage customer pull; the order
API; a failing ERP call, its attempt transcript and dead letter; and the logs: `django.server`,
`django.request` and any other logger). Then no card number is found in the rows, in the admin pages that
show them, in a dump of the database, in anything written to the database during the whole suite, or in
anything a log handler wrote. These tests run last (tests/conftest.py)."""

import hashlib
import json
import logging
import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import requests
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from customers.models import Customer
from customers.paytrace import paytrace_customers_sync
from customers.sync import erp_customers_pull
from integrations import inbox
from integrations.models import Alert, ErpPosting, ErpPostingAttempt, System, WebhookEvent
from integrations.outbox.poster import postings_post_due
from payments.models import Order, Transaction
from payments.services.paytrace import paytrace_transactions_sync
from portal.pci import card_numbers_find, card_numbers_mask
from tests import pci_capture
from tests.factories import ConnectionFactory, UserFactory
from tests.integrations.paytrace_helpers import signed, webhook_deliver
from tests.integrations.test_paytrace_webhook import _wsgi_post

ATTACK = (
    "4111111111111111 123",
    "+1 4111 1111 1111 1111",
    "4111-1111-1111-1111 12/29",
    "card 5454 5454 5454 5454 exp 12 30",
    "994111111111111111",
)
NOTE = " / ".join(ATTACK)
QUERY = "4111-1111-1111-1111+12%2F29"  # ATTACK[2] as an admin search sends it
PAYTRACE_URL, SAGE_URL = "https://paytrace.pci.test", "https://sage300.pci.test/Sage300WebApi/v1.0"
WEBHOOK_TRANSACTION, SYNCED_TRANSACTION = "900001", "900002"
# The fraction of a decimal number (a float risk feature, 0.3333333333333333) is not a card number.
_FRACTION = re.compile(r"(?<=\d\.)\d+")
# The admin's icons: SVG path data is numbers separated by spaces and dashes.
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def _card_numbers(texts) -> set[str]:
    """The portal's own finder (every Luhn-valid 13-19-digit window of a digit group), on the texts with
    decimal fractions blanked."""
    return {number for text in texts for number in card_numbers_find(_FRACTION.sub("", text))}


@pytest.mark.pci_scan
@pytest.mark.parametrize("text", [*ATTACK, NOTE, QUERY, '"number": 4012888888881881'])
def test_the_detector_finds_every_planted_format(text):
    assert _card_numbers([text])
    assert _card_numbers([card_numbers_mask(text)]) == set()


# --- the world the cards are planted in: PayTrace and Sage 300 answering over (faked) HTTP ---------------


def _answer(request: requests.PreparedRequest, status: int, body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content, response.encoding = status, json.dumps(body).encode(), "utf-8"
    response.headers["Content-Type"] = "application/json"
    response.url, response.request = request.url, request
    return response


def _paytrace_transaction(transaction_id: str) -> dict:
    return {
        "transaction_id": int(transaction_id),
        "transaction_type": "SALE",
        "status_code": "Y",
        "status_message": f"Pending Settlement {ATTACK[0]}",
        "amount": 25.0,
        "credit_card": {"masked_number": "************1111", "number": ATTACK[2]},
        "description": NOTE,
        "invoice_id": "",
        "billing_address": {"name": ATTACK[3], "zip": "98101", "country": "US"},
        "email": "pci@example.com",
        "created": {"at": "11/22/2026 10:00:00 AM", "from_ip": "10.0.0.1"},
    }


PAYTRACE_ANSWERS = {
    "/oauth/token": {"access_token": "pci-token", "token_type": "Bearer", "expires_in": 7200},
    "/v1/transactions/export/by_id": {
        "success": True,
        "response_code": 1,
        "transactions": [_paytrace_transaction(WEBHOOK_TRANSACTION)],
    },
    "/v1/transactions/export/by_date_range": {
        "success": True,
        "response_code": 1,
        "transactions": [_paytrace_transaction(SYNCED_TRANSACTION)],
    },
    "/v1/customer/export": {
        "success": True,
        "response_code": 1,
        "customers": [
            {
                "customer_id": "PCI-C1",
                "email": "vault@pci.example",
                "phone": ATTACK[1],
                "billing_address": {"name": ATTACK[4], "street_address": ATTACK[2], "city": ATTACK[3]},
                "credit_card": {"masked_number": "************1111"},
                "created": {"at": "11/22/2026 10:00:00 AM"},
            }
        ],
    },
}
SAGE_CUSTOMER = {
    "CustomerNumber": "C9001",
    "CustomerName": ATTACK[3],
    "AddressLine1": ATTACK[0],
    "City": "Seattle",
    "ZipPostalCode": "98101",
    "Country": "US",
    "PhoneNumber": ATTACK[1],
    "Email": "erp@pci.example",
    "CurrencyCode": "USD",
    "DateLastMaintained": "2026-11-22T00:00:00Z",
    "Comments": NOTE,
}


def _sage300(request: requests.PreparedRequest, path: str) -> requests.Response:
    if path.endswith("/IC/ICItems"):  # the documented item resource the SKU check reads
        return _answer(request, 200, {"value": [{"ItemNumber": "WIDGET-1"}]})
    if path.endswith("/AR/ARCustomers") and request.method == "GET":
        return _answer(request, 200, {"value": [SAGE_CUSTOMER]})
    if "/AR/ARCustomers(" in path:
        return _answer(request, 404, {"error": {"code": "RecordNotFound", "message": {"value": "No record"}}})
    # Any write is refused with an error that echoes card data back: the failing ERP call.
    refusal = {"code": "RecordInvalid", "message": {"lang": "en-US", "value": f"Comments invalid: {NOTE}"}}
    return _answer(request, 400, {"error": refusal, "echo": {"comments": NOTE, "card": ATTACK[0]}})


def _fake_send(adapter, request: requests.PreparedRequest, **kwargs) -> requests.Response:
    path = urlsplit(request.url).path
    if request.url.startswith(PAYTRACE_URL):
        return _answer(request, 200, PAYTRACE_ANSWERS[path])
    return _sage300(request, path)


def _webhook_body(event_id: str) -> dict:
    data = {
        "transactionId": WEBHOOK_TRANSACTION,
        "number": "4012888888881881",
        "csc": "999",
        "accountNumber": "000123456789",
        "routingNumber": "325081403",
        "card": 4111111111111111,
        "description": NOTE,
    }
    return {"id": event_id, "type": "transaction.success", "created": "2026-11-22T10:00:00Z", "data": data}


def _order_api_post() -> dict:
    api = APIClient()
    # Who may call the API is not the point here (and roles change elsewhere): a superuser calls it.
    api.force_authenticate(user=UserFactory(username="pci-storefront", is_superuser=True))
    address = {
        "line1": ATTACK[2],
        "line2": ATTACK[0],
        "city": ATTACK[3],
        "postal_code": "98101",
        "country": "US",
    }
    body = {
        "order_id": "WEB-PCI-1",
        "erp": "sage_300",
        "currency": "USD",
        "customer": {
            "email": "order@pci.example",
            "name": ATTACK[4],
            "phone": ATTACK[1],
            "billing_address": address,
        },
        "lines": [{"sku": "WIDGET-1", "description": NOTE, "quantity": "1", "unit_price": "10.00"}],
    }
    response = api.post(reverse("api-order-create"), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _logs_planted(client) -> None:
    # runserver's access log, as its request handler writes it (query string and all).
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request, handler.client_address = None, ("127.0.0.1", 5000)
    handler.log_message('"%s" %s %s', f"GET /admin/?q={QUERY} HTTP/1.1", "200", "512")
    # django.request: a 404 whose path carries a card number.
    assert client.get(f"/nope/{ATTACK[4]}/", {"card": ATTACK[0]}).status_code == 404
    try:
        raise ValueError(f"declined {ATTACK[3]}")
    except ValueError:
        logging.getLogger("pci.anywhere").exception("charging %s failed", ATTACK[1])


@pytest.fixture
def planted(client, monkeypatch):
    """Each attack format, through each way in."""
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", _fake_send)
    paytrace = ConnectionFactory(
        name="pci-paytrace",
        system=System.PAYTRACE,
        base_url=PAYTRACE_URL,
        credentials={"username": "pci", "password": "pci-password"},
        options={"timezone": "America/Los_Angeles", "timeout": 2},
    )
    sage = ConnectionFactory(
        name="pci-sage300",
        system=System.SAGE_300,
        base_url=SAGE_URL,
        options={"company": "SAMLTD", "timeout": 2},
    )

    response, body = webhook_deliver(client, _webhook_body("evt_pci"), HTTP_USER_AGENT=f"agent {ATTACK[1]}")
    assert response.status_code == 202
    assert _wsgi_post(*signed(_webhook_body("evt_pci_fast_path")))[0] == "202 Accepted"
    inbox.webhook_events_drain(time_budget_seconds=20)

    paytrace_transactions_sync(connection=paytrace)
    paytrace_customers_sync(connection=paytrace)
    erp_customers_pull(connection=sage)
    _order_api_post()
    postings_post_due(time_budget_seconds=20)
    _logs_planted(client)
    return {"body": body, "paytrace": paytrace, "sage": sage}


def _masked(text: str) -> str:
    return card_numbers_mask(text)


@pytest.mark.pci_scan
@pytest.mark.django_db(transaction=True)
def test_planted_cards_are_stored_masked_and_processing_still_works(planted):
    event = WebhookEvent.objects.get(event_id="evt_pci")
    data = event.payload["data"]
    assert {key: data[key] for key in ("number", "csc", "accountNumber", "routingNumber")} == dict.fromkeys(
        ("number", "csc", "accountNumber", "routingNumber"), "[redacted]"
    )
    assert (data["card"], data["description"]) == ("************1111", _masked(NOTE))
    assert event.body_sha256 == hashlib.sha256(planted["body"]).hexdigest()
    # The redacted payload is enough: the transaction was read again from PayTrace by its id.
    assert event.status == WebhookEvent.Status.PROCESSED, event.last_error
    assert event.headers["User-Agent"] == "agent +* ************1111"
    assert WebhookEvent.objects.get(event_id="evt_pci_fast_path").payload["data"] == data

    for transaction_id in (WEBHOOK_TRANSACTION, SYNCED_TRANSACTION):
        sale = Transaction.objects.get(transaction_id=transaction_id)
        assert (sale.description, sale.billing_name) == (_masked(NOTE), _masked(ATTACK[3]))
        assert sale.raw["credit_card"]["number"] == "[redacted]"

    vault = Customer.objects.get(links__external_id="PCI-C1")
    assert (vault.name, vault.phone, vault.city) == tuple(map(_masked, (ATTACK[4], ATTACK[1], ATTACK[3])))
    erp = Customer.objects.get(links__external_id="C9001")
    assert (erp.name, erp.address_line1) == (_masked(ATTACK[3]), _masked(ATTACK[0]))
    assert erp.links.get().raw["Comments"] == _masked(NOTE)

    order = Order.objects.get(order_id="WEB-PCI-1")
    assert order.lines.get().description == _masked(NOTE)
    assert (order.customer.phone, order.customer.city) == (_masked(ATTACK[1]), _masked(ATTACK[3]))
    posting = ErpPosting.objects.get(document_type=ErpPosting.DocumentType.CUSTOMER, order=order)
    assert posting.status == ErpPosting.Status.DEAD
    assert _masked(NOTE) in posting.last_error
    attempt = ErpPostingAttempt.objects.filter(posting=posting).latest("number")
    assert _masked(NOTE) in attempt.error_message and _masked(NOTE) in json.dumps(attempt.response)
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED and _masked(NOTE) in order.status_reason
    assert Alert.objects.filter(message__contains=_masked(NOTE)).exists()


@pytest.mark.pci_scan
@pytest.mark.django_db(transaction=True)
def test_admin_pages_of_planted_rows_show_no_card_number(planted, client):
    client.force_login(UserFactory(username="pci-admin", is_superuser=True))
    order = Order.objects.get(order_id="WEB-PCI-1")
    rows = [
        *WebhookEvent.objects.all(),
        *Transaction.objects.all(),
        *Customer.objects.all(),
        order,  # its lines are shown inline
        *ErpPosting.objects.all(),
        *ErpPostingAttempt.objects.all(),
        *Alert.objects.all(),
    ]
    pages = {
        reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_change", args=[row.pk]) for row in rows
    }
    pages |= {reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_changelist") for row in rows}
    for page in sorted(pages):
        response = client.get(page)
        assert response.status_code == 200, page
        assert _card_numbers([_SVG.sub("", response.content.decode())]) == set(), page


@pytest.mark.pci_scan
@pytest.mark.django_db(transaction=True)
def test_no_card_number_in_a_dump_of_the_test_database(planted):
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "COPY public." in dump.stdout
    assert _masked(NOTE) in dump.stdout  # the planted rows are in the dump, masked
    # One value at a time: a tab between two columns is not a space inside a number.
    assert _card_numbers(value for line in dump.stdout.splitlines() for value in line.split("\t")) == set()


@pytest.mark.pci_scan
@pytest.mark.django_db
def test_no_card_number_written_to_the_database_during_the_suite():
    assert pci_capture.WRITTEN_VALUES, "the capture saw no writes: it is not installed"
    assert any(_masked(NOTE) in value for value in pci_capture.WRITTEN_VALUES), "nothing was planted"
    assert _card_numbers(pci_capture.WRITTEN_VALUES) == set()


@pytest.mark.pci_scan
def test_no_card_number_in_the_logs():
    planted = {
        "django.server": _masked(f"GET /admin/?q={QUERY} HTTP/1.1"),
        "django.request": _masked(f"Not Found: /nope/{ATTACK[4]}/"),
        "pci.anywhere": _masked(f"charging {ATTACK[1]} failed"),
    }
    for logger, masked in planted.items():
        assert any(masked in line for line in pci_capture.LOG_LINES), f"nothing planted through {logger}"
    assert _card_numbers(pci_capture.LOG_LINES) == set()
