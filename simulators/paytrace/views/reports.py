"""Transaction and batch exports."""

from typing import Any

from simulators.paytrace.endpoint import Call, pt_endpoint
from simulators.paytrace.models import PtTransaction
from simulators.paytrace.selectors import (
    pt_batch_get,
    pt_batches_in_range,
    pt_transaction_get,
    pt_transactions_in_range,
    us_date_parse,
)
from simulators.paytrace.wire import EXPORT_OK, batch_summary, transaction_record

# Transaction exports answer with `external_transaction_id` (PayTrace's export help page; no artefact), so
# their errors carry it too (api_errors).
export_endpoint = pt_endpoint(writes=False, external_id=True)


def _records(call: Call, transactions: Any) -> dict[str, Any]:
    include_bin = bool(call.body.get("include_bin"))
    records = [transaction_record(txn, include_bin=include_bin) for txn in transactions]
    return {**EXPORT_OK, "transactions": records, "external_transaction_id": ""}


@export_endpoint
def export_by_id(call: Call) -> dict[str, Any]:
    txn = pt_transaction_get(
        account=call.account, transaction_id=call.body.get("transaction_id"), kinds=tuple(PtTransaction.Kind)
    )
    return _records(call, [txn])


@export_endpoint
def export_by_date_range(call: Call) -> dict[str, Any]:
    found = pt_transactions_in_range(
        account=call.account,
        start=us_date_parse(call.body.get("start_date")),
        end=us_date_parse(call.body.get("end_date")),
        transaction_type=call.text("transaction_type"),
        customer_id=call.text("customer_id"),
    )
    if call.text("transaction_id"):
        found = found.filter(pk=call.text("transaction_id")) if call.text("transaction_id").isdigit() else []
    return _records(call, found)


@pt_endpoint(writes=False)
def batches_export(call: Call) -> dict[str, Any]:
    batches = pt_batches_in_range(
        account=call.account,
        start=us_date_parse(call.body.get("start_date")),
        end=us_date_parse(call.body.get("end_date")),
    )
    return {**EXPORT_OK, "batches": [batch_summary(batch) for batch in batches]}


@pt_endpoint(writes=False)
def batch_export_one(call: Call) -> dict[str, Any]:
    batch = pt_batch_get(account=call.account, number=call.body.get("batch_number"))
    return {**EXPORT_OK, "batch": batch_summary(batch)}


@export_endpoint
def batch_transaction_list(call: Call) -> dict[str, Any]:
    batch = pt_batch_get(account=call.account, number=call.body.get("batch_number"))
    transactions = batch.transactions.select_related("account", "original").order_by("pk")
    return {**_records(call, transactions), "batch": batch_summary(batch)}
