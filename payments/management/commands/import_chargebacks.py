"""Record chargebacks from a processor's dispute report: a CSV of transaction_id, amount, date, reason."""

import csv
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations.models import System
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceError
from integrations.selectors import ConnectionMissing, connection_active_get
from payments.models import Transaction
from payments.services.chargebacks import ChargebackInvalid, ChargebackRecorded, chargeback_record
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide

COLUMNS = ("transaction_id", "amount", "date", "reason")


class RowInvalid(Exception):
    pass


class Command(BaseCommand):
    help = "Import chargebacks from a CSV (transaction_id, amount, date YYYY-MM-DD, reason); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("csv_path", type=Path)

    def handle(self, *args, csv_path: Path, **options):
        try:
            connection = connection_active_get(system=System.PAYTRACE)
            rows = list(csv.DictReader(csv_path.open(newline="", encoding="utf-8-sig")))
        except (OSError, ConnectionMissing) as exc:
            raise CommandError(str(exc)) from exc
        if rows and set(COLUMNS) - set(rows[0]):
            raise CommandError(f"{csv_path} needs the columns {', '.join(COLUMNS)}")
        client = PayTraceClient.from_connection(connection)
        errors, recorded, repeated = [], 0, 0
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            try:
                outcome = self._row(
                    connection=connection, client=client, row=row, source=f"{csv_path.name}:{number}"
                )
            except (RowInvalid, ChargebackInvalid, PayTraceError) as exc:
                errors.append(f"line {number}: {exc}")
                continue
            recorded += outcome.created
            repeated += not outcome.created
            said = "recorded" if outcome.created else "already recorded (nothing changed)"
            self.stdout.write(f"  [{number - 1}/{len(rows)}] {outcome.transaction.transaction_id} {said}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{recorded} of {len(rows)} chargebacks recorded, {repeated} already recorded before"
                f", {len(errors)} not imported."
            )
        )
        if errors:
            raise CommandError("some rows were not imported (fix them and run again):\n" + "\n".join(errors))

    def _row(self, *, connection, client, row: dict, source: str) -> ChargebackRecorded:
        transaction_id = (row.get("transaction_id") or "").strip()
        if not transaction_id:
            raise RowInvalid("no transaction in column transaction_id")
        amount_text, day_text = (row.get("amount") or "").strip(), (row.get("date") or "").strip()
        try:
            amount = Decimal(amount_text) if amount_text else None
        except InvalidOperation:
            raise RowInvalid(
                f"bad amount in column amount: {amount_text!r} is not a number (write it like 100.00,"
                " or leave it empty for the whole sale)"
            ) from None
        if amount is not None and not amount.is_finite():
            raise RowInvalid(f"bad amount in column amount: {amount_text!r} is not an amount")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise RowInvalid(
                f"bad date in column date: {day_text!r} is not a date written YYYY-MM-DD (like 2026-11-20)"
            ) from None
        sale = Transaction.objects.filter(connection=connection, transaction_id=transaction_id).first()
        if sale is None:
            raw = (
                client.transaction_export_by_id(transaction_id=transaction_id)
                if transaction_id.isdigit()
                else None
            )
            if raw is None:
                raise RowInvalid(f"PayTrace has no transaction {transaction_id!r}")
            sale = paytrace_record_ingest(
                connection=connection, client=client, raw=raw, on_change=transaction_decide
            ).transaction
        return chargeback_record(
            sale=sale,
            amount=amount,
            occurred_at=timezone.make_aware(datetime.combine(day, time(12))),
            reason=(row.get("reason") or "").strip(),
            source=source,
        )
