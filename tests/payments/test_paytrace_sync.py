"""Polling sync from the PayTrace sandbox: cursor, overlap window, no duplicates, crash and resume."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.models import CustomerLink
from customers.paytrace import paytrace_customers_sync
from integrations.models import SyncCursor
from integrations.selectors import connection_timezone
from payments.models import Transaction
from payments.services import paytrace as sync_module
from payments.services.paytrace import paytrace_transactions_sync
from tests.integrations.paytrace_helpers import sale

pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_pulls_transactions_made_through_the_client(paytrace_connection, paytrace_client):
    ids = [sale(paytrace_client, amount) for amount in ("10.00", "20.00", "0.29")]
    summary = paytrace_transactions_sync(connection=paytrace_connection)
    assert summary.records >= 3
    statuses = dict(
        Transaction.objects.filter(transaction_id__in=ids).values_list("transaction_id", "status")
    )
    assert statuses == {ids[0]: "approved", ids[1]: "approved", ids[2]: "declined"}
    cursor = SyncCursor.objects.get(connection=paytrace_connection, resource="transactions")
    assert cursor.position is not None and cursor.locked_until is None and cursor.last_error == ""


def test_overlap_window_rereads_without_duplicates(paytrace_connection, paytrace_client):
    sale(paytrace_client, "11.00")
    paytrace_transactions_sync(connection=paytrace_connection)
    second = paytrace_transactions_sync(connection=paytrace_connection)
    assert second.records >= 1  # the overlap window read the same day again
    assert second.changed == 0
    assert Transaction.objects.count() == 1


def test_settlement_seen_on_a_later_run_moves_status_forward(paytrace_connection, paytrace_client):
    transaction_id = sale(paytrace_client, "12.00")
    paytrace_transactions_sync(connection=paytrace_connection)
    paytrace_client.settle()
    paytrace_transactions_sync(connection=paytrace_connection)
    txn = Transaction.objects.get(transaction_id=transaction_id)
    assert txn.status == "settled"
    assert txn.paytrace_status_code.startswith("GB")
    assert txn.settled_at is not None


def test_a_crash_mid_run_keeps_the_cursor_and_the_next_run_resumes(
    paytrace_connection, paytrace_client, monkeypatch
):
    ids = [sale(paytrace_client, amount) for amount in ("13.00", "14.00", "15.00")]
    real_ingest = sync_module.paytrace_record_ingest
    calls = {"n": 0}

    def crash_on_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real_ingest(**kwargs)

    monkeypatch.setattr(sync_module, "paytrace_record_ingest", crash_on_second)
    with pytest.raises(RuntimeError):
        paytrace_transactions_sync(connection=paytrace_connection)
    cursor = SyncCursor.objects.get(connection=paytrace_connection, resource="transactions")
    # Advanced past the days read in full (the empty days of the first-run window), never into the day
    # the crash was in.
    today_start = (
        timezone.now()
        .astimezone(connection_timezone(paytrace_connection))
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    assert cursor.position == today_start
    assert cursor.locked_until is None  # released
    assert "worker killed" in cursor.last_error

    monkeypatch.setattr(sync_module, "paytrace_record_ingest", real_ingest)
    paytrace_transactions_sync(connection=paytrace_connection)
    assert Transaction.objects.filter(transaction_id__in=ids).count() == 3
    assert Transaction.objects.count() == 3


def test_two_runs_never_overlap(paytrace_connection):
    now = timezone.now()
    SyncCursor.objects.create(
        connection=paytrace_connection, resource="transactions", locked_until=now + timedelta(minutes=1)
    )
    assert paytrace_transactions_sync(connection=paytrace_connection, now=now).skipped
    # A lease left by a dead worker expires.
    assert not paytrace_transactions_sync(
        connection=paytrace_connection, now=now + timedelta(minutes=2)
    ).skipped


def test_vault_customers_are_mirrored_with_their_token(paytrace_connection):
    summary = paytrace_customers_sync(connection=paytrace_connection)
    assert summary.records == 6
    link = CustomerLink.objects.select_related("customer").get(
        connection=paytrace_connection, external_id="C1001"
    )
    assert link.customer.email == "ap@acme-outdoor.example"
    assert paytrace_customers_sync(connection=paytrace_connection).changed == 0


def test_sale_by_vault_customer_links_the_customer(paytrace_connection, paytrace_client):
    from integrations.paytrace.types import VaultCustomer

    paytrace_customers_sync(connection=paytrace_connection)
    result = paytrace_client.sale(amount=Decimal("30.00"), source=VaultCustomer(customer_id="C1002"))
    paytrace_transactions_sync(connection=paytrace_connection)
    txn = Transaction.objects.get(transaction_id=result.transaction_id)
    assert txn.customer.email == "billing@birchmaple.example"
    assert txn.paytrace_customer_id == "C1002"


def test_command_reports_and_fails_clearly_without_a_connection(paytrace_connection, paytrace_client, capsys):
    sale(paytrace_client, "16.00")
    call_command("sync_paytrace")
    assert "records read" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no active PayTrace connection named 'nope'"):
        call_command("sync_paytrace", connection="nope")


class _SpentAfter:
    """A budget that runs out after `items` checks."""

    def __init__(self, items: int):
        self.left = items

    def spent(self) -> bool:
        self.left -= 1
        return self.left < 0


def _export_days(monkeypatch, client) -> list[tuple]:
    days: list[tuple] = []
    real = client.transactions_export_by_date_range

    def spy(*, start_date, end_date, **kwargs):
        days.append((start_date, end_date))
        return real(start_date=start_date, end_date=end_date, **kwargs)

    monkeypatch.setattr(client, "transactions_export_by_date_range", spy)
    return days


def test_a_first_run_reads_its_window_one_day_at_a_time(paytrace_connection, paytrace_client, monkeypatch):
    sale(paytrace_client, "16.00")
    days = _export_days(monkeypatch, paytrace_client)
    paytrace_transactions_sync(connection=paytrace_connection, client=paytrace_client)
    assert len(days) == sync_module.FIRST_RUN_LOOKBACK.days + 1
    assert all(start == end for start, end in days)


def test_a_run_stopped_by_its_budget_keeps_what_it_read_and_the_next_resumes_there(
    paytrace_connection, paytrace_client, monkeypatch
):
    ids = [sale(paytrace_client, amount) for amount in ("17.00", "18.00", "19.00")]
    first = paytrace_transactions_sync(
        connection=paytrace_connection, client=paytrace_client, budget=_SpentAfter(2)
    )
    assert (first.complete, first.records) == (False, 2)
    cursor = SyncCursor.objects.get(connection=paytrace_connection, resource="transactions")
    zone = connection_timezone(paytrace_connection)
    today = timezone.now().astimezone(zone).date()
    assert cursor.position.astimezone(zone).date() == today  # the empty days before are done
    assert cursor.locked_until is None and cursor.last_error == ""

    days = _export_days(monkeypatch, paytrace_client)
    second = paytrace_transactions_sync(connection=paytrace_connection, client=paytrace_client)
    assert second.complete
    assert {start for start, _ in days} <= {today - timedelta(days=1), today}  # not the 7-day window
    assert Transaction.objects.filter(transaction_id__in=ids).count() == 3


def test_every_synced_transaction_has_its_card_brand_and_merchant_id(paytrace_connection, paytrace_client):
    """The export is asked for the BIN (the only place it names the network) and PayTrace's v1 record
    names no merchant, so the connection's merchant id stands in: GL rules keyed on both can match."""
    paytrace_connection.options = {**paytrace_connection.options, "merchant_id": "100001"}
    paytrace_connection.save()
    transaction_id = sale(paytrace_client, "16.00")
    paytrace_transactions_sync(connection=paytrace_connection)
    txn = Transaction.objects.get(transaction_id=transaction_id)
    assert txn.card_brand == "VISA"
    assert txn.merchant_id == "100001"
