"""A declined payment's status written back to each ERP (issue 11, item 10), over real HTTP to the
simulators: the decide step plans it per the status mapping, the outbox poster sends it, and the simulator
holds it in the vendor's shape. Sage Pro: the invoice's PAYSTATUS "Payment Failed" (REST and the CSV drop
folder); Sage 300: the customer's optional field PAYSTATUS; Sage X3: the sales invoice's header comment."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import Connection, ErpPosting, StatusMapping, System
from integrations.outbox.poster import postings_post_due
from integrations.sage.base import SalesOrderData, SalesOrderLine
from integrations.sage.registry import connector_for
from payments.models import Transaction
from payments.services.decide_batch import transactions_decide_created
from payments.services.pipeline import transaction_decide
from simulators.models import FaultProfile
from simulators.sage300.models import Customer as Sage300Customer
from simulators.sagepro.drop import sandbox_sagepro_drop_process
from simulators.sagepro.models import SproInvoice, SproPaymentNote
from simulators.x3.models import X3Invoice
from tests.factories import ConnectionFactory, OrderFactory, TransactionFactory, UserFactory
from tests.integrations.test_sagepro_connector import scheduled_import

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = ErpPosting.DocumentType.STATUS_NOTE
INVOICE = "INV-5001"  # C1001's, in every ERP of the demo world


def _declined(erp: Connection, **fields) -> Transaction:
    paytrace = fields.pop("connection", None) or ConnectionFactory(
        system=System.PAYTRACE, options={"erp_connection": erp.name}
    )
    values = {"status": Transaction.Status.DECLINED, "status_message": "Insufficient funds", **fields}
    return TransactionFactory(connection=paytrace, **{"invoice_reference": INVOICE, **values})


def _post() -> None:
    postings_post_due(time_budget_seconds=30)


def _due_now(posting: ErpPosting) -> None:
    ErpPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _sage300_notes(number: str = "C1001") -> list[dict]:
    rows = Sage300Customer.objects.get(number=number).properties.get("CustomerOptionalFieldValues") or []
    return [row for row in rows if row.get("OptionalField") == "PAYSTATUS"]


def _written(system: str, reference: str) -> int:
    """How many notes carrying `reference` the ERP's simulator holds (one, or none)."""
    if system == System.SAGE_PRO:
        notes = SproPaymentNote.objects.filter(reference=reference)
        if notes.exists():
            assert SproInvoice.objects.get(invno=INVOICE).paystatus == "Payment Failed"
        return notes.count()
    if system == System.SAGE_300:
        return sum(1 for row in _sage300_notes() if row["Value"].split()[0] == reference)
    comment = X3Invoice.objects.get(num=INVOICE).invdes
    return 1 if comment.split()[:1] == [reference] else 0


@pytest.fixture
def world(demo_world):
    return demo_world["connections"]


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def acme(demo_world):
    return demo_world["customers"]["C1001"]


@pytest.mark.parametrize("system", [System.SAGE_PRO, System.SAGE_300, System.SAGE_X3])
def test_a_declined_sale_writes_payment_failed_in_the_erp(world, system):
    erp = world[system]
    sale = _declined(erp)
    transaction_decide(sale)

    posting = ErpPosting.objects.get(document_type=NOTE, reference=sale.transaction_id)
    assert (posting.connection, posting.transaction, posting.status) == (erp, sale, "pending")
    _post()

    posting.refresh_from_db()
    assert posting.status == "posted", posting.last_error
    assert _written(system, sale.transaction_id) == 1
    if system == System.SAGE_PRO:
        note = SproPaymentNote.objects.get(reference=sale.transaction_id)
        assert (note.invoice.invno, note.customer.custno, note.paystatus) == (
            INVOICE,
            "C1001",
            "Payment Failed",
        )
        assert "Insufficient funds" in note.note and posting.erp_document_number == note.noteno
    elif system == System.SAGE_300:
        (row,) = _sage300_notes()
        assert row["Value"] == f"{sale.transaction_id} Payment Failed {INVOICE}"
        assert posting.erp_document_number == "C1001/PAYSTATUS"
    else:
        comment = X3Invoice.objects.get(num=INVOICE).invdes
        assert comment.startswith(f"{sale.transaction_id} Payment Failed: PayTrace {sale.transaction_id}")
        assert posting.erp_document_number == INVOICE


def test_sage_pro_csv_drop_folder_writes_payment_failed(world, settings, tmp_path):
    settings.SAGEPRO_DROP_ROOT = tmp_path
    sandbox_sagepro_drop_process(folder=tmp_path)
    erp = world[System.SAGE_PRO]
    erp.options = {"transport": "csv", "drop_folder": str(tmp_path), "import_wait_seconds": 10}
    erp.save()
    sale = _declined(erp)
    transaction_decide(sale)

    with scheduled_import(tmp_path):
        _post()

    posting = ErpPosting.objects.get(document_type=NOTE, reference=sale.transaction_id)
    assert posting.status == "posted", posting.last_error
    assert _written(System.SAGE_PRO, sale.transaction_id) == 1
    assert any(path.name.startswith("ARPSTAT_") for path in (tmp_path / "archive").iterdir())


def test_the_batch_decide_path_plans_the_same_write_back(world):
    erp = world[System.SAGE_PRO]
    declined = _declined(erp)
    approved = _declined(erp, connection=declined.connection, status=Transaction.Status.APPROVED)
    transactions_decide_created(transactions=[declined, approved])

    assert ErpPosting.objects.filter(document_type=NOTE).get().reference == declined.transaction_id
    assert ErpPosting.objects.filter(document_type="receipt").get().reference == approved.transaction_id


@pytest.mark.parametrize("system", [System.SAGE_PRO, System.SAGE_300, System.SAGE_X3])
def test_a_retry_after_an_applied_but_lost_answer_writes_nothing_twice(world, system):
    erp = world[system]
    sale = _declined(erp)
    transaction_decide(sale)
    posting = ErpPosting.objects.get(document_type=NOTE)
    FaultProfile.objects.update_or_create(
        system=system, account="", defaults={"applied_timeout_next": 1, "hang_seconds": 3}
    )
    erp.options = {**erp.options, "timeout": 1.5}
    erp.save()
    _post()

    posting.refresh_from_db()
    assert posting.status == "retryable", posting.last_error
    assert "no answer within" in posting.last_error  # the write timed out
    assert _written(system, sale.transaction_id) == 1  # it landed; we never heard

    _due_now(posting)
    _post()

    posting.refresh_from_db()
    assert posting.status == "posted", posting.last_error
    assert _written(system, sale.transaction_id) == 1
    second = posting.attempts.get(number=2)
    writes = [call for call in second.request["calls"] if call["method"] in ("POST", "PATCH", "PUT")]
    if system == System.SAGE_X3:  # SOAP reads are POSTs too: no `modify` went out
        assert not any("modify" in str(call.get("request", "")) for call in writes)
    else:
        assert writes == []
    if system == System.SAGE_PRO:
        assert second.outcome == "found_existing"


def test_action_none_writes_nothing(world):
    erp = world[System.SAGE_300]
    StatusMapping.objects.filter(erp=erp.system, paytrace_status="declined").update(
        action=StatusMapping.Action.NONE
    )
    sale = _declined(erp)
    transaction_decide(sale)
    assert not ErpPosting.objects.filter(document_type=NOTE).exists()

    # Planned while the row wrote notes, then finance set it to none: it is cancelled, not sent.
    StatusMapping.objects.filter(erp=erp.system, paytrace_status="declined").update(
        action=StatusMapping.Action.STATUS_NOTE
    )
    transaction_decide(sale)
    StatusMapping.objects.filter(erp=erp.system, paytrace_status="declined").update(
        action=StatusMapping.Action.NONE
    )
    _post()
    posting = ErpPosting.objects.get(document_type=NOTE)
    assert posting.status == "cancelled" and "writes nothing back" in posting.last_error
    assert _sage300_notes() == []


def test_a_5xx_is_retried_then_written(world):
    erp = world[System.SAGE_PRO]
    sale = _declined(erp)
    transaction_decide(sale)
    FaultProfile.objects.update_or_create(system=System.SAGE_PRO, account="", defaults={"error_next": 1})
    _post()

    posting = ErpPosting.objects.get(document_type=NOTE)
    assert posting.status == "retryable"
    assert posting.attempts.get().outcome == "transient"
    assert _written(System.SAGE_PRO, sale.transaction_id) == 0

    _due_now(posting)
    _post()
    posting.refresh_from_db()
    assert posting.status == "posted" and _written(System.SAGE_PRO, sale.transaction_id) == 1


def test_a_permanent_refusal_is_a_dead_letter_with_the_erps_reason(world, acme):
    erp = world[System.SAGE_300]
    CustomerLink.objects.filter(customer=acme, connection=erp).update(external_id="NOSUCHCUST")
    sale = _declined(erp, invoice_reference="", customer=acme)
    transaction_decide(sale)
    _post()

    posting = ErpPosting.objects.get(document_type=NOTE)
    assert posting.status == "dead"
    assert posting.last_error.startswith("[RecordNotFound]")  # Sage 300's own code and text
    assert posting.attempts.get().outcome == "permanent"


def test_x3_without_an_invoice_has_nowhere_to_write_and_says_so(world, acme):
    erp = world[System.SAGE_X3]
    sale = _declined(erp, invoice_reference="", customer=acme)
    transaction_decide(sale)
    _post()

    posting = ErpPosting.objects.get(document_type=NOTE)
    assert posting.status == "cancelled" and "invoice only" in posting.last_error


def test_the_write_back_shows_in_the_erp_documents_and_the_payments_story(world, superuser_client):
    sale = _declined(world[System.SAGE_PRO])
    transaction_decide(sale)
    _post()
    posting = ErpPosting.objects.get(document_type=NOTE)

    listed = superuser_client.get(
        reverse("admin:integrations_erpposting_changelist"), {"document_type__exact": NOTE}
    ).content.decode()
    assert sale.transaction_id in listed and posting.erp_document_number in listed
    story = superuser_client.get(
        reverse("admin:payments_transaction_change", args=[sale.pk])
    ).content.decode()
    assert "Payment status write-back" in story and posting.erp_document_number in story


def test_only_the_declined_row_may_write_a_status_back():
    StatusMapping.objects.create(
        erp=System.SAGE_PRO, paytrace_status="declined", erp_status="Payment Failed", action="status_note"
    )
    with pytest.raises(IntegrityError, match="statusmapping_status_note_declined"):
        StatusMapping.objects.create(
            erp=System.SAGE_PRO, paytrace_status="approved", erp_status="Paid", action="status_note"
        )


def test_a_declined_order_payment_writes_on_the_orders_sales_order(world, acme):
    erp = world[System.SAGE_PRO]
    sales_order = connector_for(erp).sales_order_create(
        order=SalesOrderData(
            reference="WEB-DECLINE-1",
            customer_number="C1001",
            currency="USD",
            order_date=timezone.now().date(),
            lines=(SalesOrderLine(sku="TENT-2P", quantity=Decimal("1"), unit_price=Decimal("249.00")),),
            defaults={"LOCTID": "WH1"},
        )
    )
    order = OrderFactory(
        order_id="WEB-DECLINE-1", erp_connection=erp, customer=acme, erp_order_number=sales_order.number
    )
    sale = _declined(erp, invoice_reference="", order=order)
    transaction_decide(sale)
    _post()

    order.refresh_from_db()
    assert order.status == "failed"
    posting = ErpPosting.objects.get(document_type=NOTE)
    assert posting.status == "posted", posting.last_error
    note = SproPaymentNote.objects.get(reference=sale.transaction_id)
    assert (note.order.sono, note.invoice, note.customer.custno) == (sales_order.number, None, "C1001")
