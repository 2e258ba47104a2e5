"""A worker that dies between the upsert and the decide step leaves no payment unplanned: the change is
flagged in the upsert's own transaction, decided again by the next delivery, or by the sweeper."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import ErpPosting
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from payments.models import Transaction
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide, transactions_decide_undecided

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(Exception):
    pass


def die(transaction: Transaction) -> None:
    raise WorkerDied


@pytest.fixture
def sale_record(demo_world):
    paytrace = demo_world["connections"]["paytrace"]
    client = PayTraceClient.from_connection(paytrace)
    result = client.sale(
        amount=Decimal("75.00"),
        source=VaultCustomer(customer_id="C1002"),
        details=Details(invoice_id="INV-5003"),
    )
    return paytrace, client, client.transaction_export_by_id(transaction_id=result.transaction_id)


def _crashed_ingest(paytrace, client, raw) -> Transaction:
    with pytest.raises(WorkerDied):
        paytrace_record_ingest(connection=paytrace, client=client, raw=raw, on_change=die)
    sale = Transaction.objects.get(transaction_id=raw["transaction_id"])
    assert sale.decision_pending and not sale.postings.exists()
    return sale


def test_the_next_delivery_of_an_unchanged_record_decides_what_a_crash_left(sale_record):
    paytrace, client, raw = sale_record
    sale = _crashed_ingest(paytrace, client, raw)
    result = paytrace_record_ingest(connection=paytrace, client=client, raw=raw, on_change=transaction_decide)
    assert not result.changed
    sale.refresh_from_db()
    assert not sale.decision_pending
    assert sale.postings.filter(document_type=ErpPosting.DocumentType.RECEIPT).count() == 1
    assert hasattr(sale, "risk")


def test_the_sweeper_decides_a_change_no_delivery_takes_up(sale_record):
    paytrace, client, raw = sale_record
    sale = _crashed_ingest(paytrace, client, raw)
    assert transactions_decide_undecided() == 0  # too young: a drain may still be on it
    Transaction.objects.filter(pk=sale.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert transactions_decide_undecided() == 1
    sale.refresh_from_db()
    assert not sale.decision_pending
    assert sale.postings.filter(document_type=ErpPosting.DocumentType.RECEIPT).count() == 1
    assert transactions_decide_undecided() == 0


def test_a_decided_unchanged_record_is_not_decided_again(sale_record):
    paytrace, client, raw = sale_record
    paytrace_record_ingest(connection=paytrace, client=client, raw=raw, on_change=transaction_decide)
    calls = []
    paytrace_record_ingest(connection=paytrace, client=client, raw=raw, on_change=calls.append)
    assert calls == []
