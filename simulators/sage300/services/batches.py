"""PATCH on a transaction batch: the Endpoint Reference lists GET, POST and PATCH for ARInvoiceBatches,
ARReceiptAndAdjustmentBatches and GLJournalBatches, and the Developer Reference marks a batch ready to
post with `PATCH .../APInvoiceBatches(58)` `{"BatchNumber": 58, "BatchStatus": "ReadyToPost"}`."""

from typing import Any

from simulators.sage300.errors import WebApiError, invalid_payload, not_found
from simulators.sage300.models import Batch, Company
from simulators.sage300.schema import Shape
from simulators.sage300.selectors import BATCH_STATUS_FIELD
from simulators.sage300.services.common import batch_status_parse, date_parse

_RECORD_TYPES = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}


def _number(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise WebApiError(400, "InvalidEntityKey", f"'{value}' is not a batch number.") from None


def batch_kind(*, default: str, key: dict[str, str]) -> str:
    """The kind of batch a key names: receipt batches tell CA from AD by BatchRecordType."""
    if "BatchRecordType" not in key:
        return default
    if key["BatchRecordType"] not in _RECORD_TYPES:
        raise WebApiError(400, "InvalidEntityKey", f"'{key['BatchRecordType']}' is not a batch record type.")
    return _RECORD_TYPES[key["BatchRecordType"]]


def batch_update(*, company: Company, kind: str, shape: Shape, key: dict[str, str], payload: dict) -> None:
    """The header's status, description and date change; the server's own figures (totals, counts,
    posting sequence) stay. Entries are not edited here: a PATCH carrying them is refused, where Sage
    would apply each row's UpdateOperation, so a client relying on that sees it fail in the suite."""
    number = _number(key["BatchNumber"])
    batch = Batch.objects.select_for_update().filter(company=company, kind=kind, number=number).first()
    if batch is None:
        raise not_found(f"Batch {key['BatchNumber']} does not exist.")
    for name, value in key.items():
        sent = payload.get(name)
        if sent is not None and (
            str(sent) != value if name == "BatchRecordType" else _number(sent) != number
        ):
            raise invalid_payload(f"{name} {sent} does not match the batch addressed ({value}).")
    entries = sorted(set(shape.rows) & set(payload))
    if entries:
        raise invalid_payload(f"The simulator does not edit a batch's entries ({entries[0]}).")
    if batch.status == "Posted":
        raise WebApiError(409, "RecordInvalid", f"Batch {key['BatchNumber']} is posted and cannot be edited.")
    status_field = BATCH_STATUS_FIELD[kind]
    if status_field in payload:
        batch.status = batch_status_parse(payload[status_field])
    changes = {name: payload[name] for name in ("Description",) if name in payload}
    if payload.get("BatchDate"):
        changes["BatchDate"] = date_parse(
            payload["BatchDate"], company=company, field="Batch date"
        ).isoformat()
    batch.payload = {**batch.payload, **changes}
    batch.save(update_fields=["status", "payload"])
