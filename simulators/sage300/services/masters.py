"""Master data beyond customers: ICItems and BKBanks (typed rows, because orders and receipts act on
them) and the lookups kept whole in their wire shape (ARDistributionCodes, ICLocations,
OEMiscellaneousCharges), each created from the payload Sage's samples post."""

from typing import Any

from simulators.sage300.errors import WebApiError, field_invalid, not_found
from simulators.sage300.models import Bank, Company, Item, LookupRecord
from simulators.sage300.schema import shape_of
from simulators.sage300.selectors import Record, bank_record, item_record
from simulators.sage300.services.common import account_require

_DESCRIPTION_LENGTH = 60


def _text(payload: dict[str, Any], name: str, *, limit: int, required: bool = False) -> str:
    value = str(payload.get(name) or "").strip()
    if required and not value:
        raise field_invalid(f"{name} is required.")
    if len(value) > limit:
        raise field_invalid(f"{name} is longer than {limit} characters.")
    return value


def _duplicate(resource: str, key: str) -> WebApiError:
    return WebApiError(409, "RecordDuplicate", f'{resource} "{key}" already exists.')


def item_create(*, company: Company, payload: dict[str, Any]) -> Record:
    """ICItems: Sage's sample posts UnformattedItemNumber; the item is then known by that number."""
    number = _text(payload, "ItemNumber", limit=24) or _text(
        payload, "UnformattedItemNumber", limit=24, required=True
    )
    if Item.objects.filter(company=company, number=number).exists():
        raise _duplicate("Item", number)
    mapped = {"ItemNumber", "UnformattedItemNumber", "Description", "StockingUnitOfMeasure"}
    item = Item.objects.create(
        company=company,
        number=number,
        description=_text(payload, "Description", limit=_DESCRIPTION_LENGTH),
        unit=_text(payload, "StockingUnitOfMeasure", limit=10) or "Ea",
        properties={name: value for name, value in payload.items() if name not in mapped},
    )
    return item_record(item)


def bank_create(*, company: Company, payload: dict[str, Any]) -> Record:
    """BKBanks: BankAccount is the bank's GL account. Sage's sample also sends BankAccountNumber; the
    simulator accepts it and keeps no bank account number."""
    code = _text(payload, "BankCode", limit=8, required=True)
    if Bank.objects.filter(company=company, code=code).exists():
        raise _duplicate("Bank", code)
    account = account_require(company=company, number=payload.get("BankAccount"))
    mapped = {"BankCode", "Description", "BankAccount", "StatementCurrency", "BankAccountNumber"}
    bank = Bank.objects.create(
        company=company,
        code=code,
        description=_text(payload, "Description", limit=_DESCRIPTION_LENGTH),
        gl_account=account.number,
        currency=_text(payload, "StatementCurrency", limit=3) or "USD",
        properties={name: value for name, value in payload.items() if name not in mapped},
    )
    return bank_record(bank)


def _lookup_key(*, module: str, resource: str, values: dict[str, Any]) -> str:
    key = shape_of(module, resource).key
    missing = [name for name in key if values.get(name) in (None, "")]
    if missing:
        raise field_invalid(f"{missing[0]} is required.")
    return "|".join(str(values[name]) for name in key)


def lookup_get(
    *, company: Company, module: str, resource: str, values: dict[str, Any]
) -> LookupRecord | None:
    key = _lookup_key(module=module, resource=resource, values=values)
    return LookupRecord.objects.filter(company=company, resource=f"{module}/{resource}", key=key).first()


def lookup_create(*, company: Company, module: str, resource: str, payload: dict[str, Any]) -> Record:
    key = _lookup_key(module=module, resource=resource, values=payload)
    if LookupRecord.objects.filter(company=company, resource=f"{module}/{resource}", key=key).exists():
        raise _duplicate(resource, key)
    LookupRecord.objects.create(company=company, resource=f"{module}/{resource}", key=key, payload=payload)
    return shape_of(module, resource).complete(payload)


def _lookup_locked(
    *, company: Company, module: str, resource: str, key: dict[str, str], payload: dict[str, Any]
) -> LookupRecord:
    if any(payload.get(name) is not None and str(payload[name]) != value for name, value in key.items()):
        raise field_invalid(f"The key of an existing {resource} record cannot be changed.")
    joined = _lookup_key(module=module, resource=resource, values=key)
    record = (
        LookupRecord.objects.select_for_update()
        .filter(company=company, resource=f"{module}/{resource}", key=joined)
        .first()
    )
    if record is None:
        raise not_found(f"{resource} ({joined}) does not exist.")
    return record


def lookup_update(
    *, company: Company, module: str, resource: str, key: dict[str, str], payload: dict[str, Any]
) -> None:
    """PATCH and PUT alike: a lookup has no detail collection for PUT to purge."""
    record = _lookup_locked(company=company, module=module, resource=resource, key=key, payload=payload)
    record.payload = {**record.payload, **payload}
    record.save(update_fields=["payload"])


def lookup_delete(*, company: Company, module: str, resource: str, key: dict[str, str]) -> None:
    _lookup_locked(company=company, module=module, resource=resource, key=key, payload={}).delete()
