"""What every Sage 300 business view checks before it accepts a record."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F
from django.utils import timezone

from simulators.sage300.errors import field_invalid, invalid_payload
from simulators.sage300.models import Bank, Company, Counter, Customer, GLAccount

FISCAL_YEARS_BACK = 5  # the fiscal calendar holds this many past years and the next one


def counter_next(*, company: Company, name: str) -> int:
    """Server-assigned numbers never repeat, even for concurrent requests: numbering is serialised on the
    company row (callers run inside the request's transaction)."""
    Company.objects.select_for_update().filter(pk=company.pk).first()
    counter, _ = Counter.objects.get_or_create(company=company, name=name)
    Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
    counter.refresh_from_db()
    return counter.value


def payload_check(*, payload: Any, allowed: frozenset[str], entity: str) -> dict[str, Any]:
    """OData refuses properties the entity type does not have, instead of ignoring a misspelt field."""
    if not isinstance(payload, dict):
        raise invalid_payload(f"The payload for {entity} must be a JSON object.")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise invalid_payload(f"The property '{unknown[0]}' does not exist on type '{entity}'.")
    return payload


def date_parse(value: Any, *, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise field_invalid(f"{field} is required.")
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise invalid_payload(f"'{value}' is not a valid date for {field}.") from None
    this_year = timezone.now().year
    if not this_year - FISCAL_YEARS_BACK <= parsed.year <= this_year + 1:
        raise field_invalid(f"{field} {parsed.isoformat()} is not in a fiscal period of the fiscal calendar.")
    return parsed


def amount_parse(value: Any, *, field: str, default: Decimal | None = None) -> Decimal:
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise invalid_payload(f"'{value}' is not a valid number for {field}.")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise invalid_payload(f"'{value}' is not a valid number for {field}.") from None


def customer_require(*, company: Company, number: Any) -> Customer:
    customer = Customer.objects.filter(company=company, number=str(number or "")).first()
    if customer is None:
        raise field_invalid(f'Customer number "{number}" does not exist.')
    if customer.status != "Active":
        raise field_invalid(f'Customer "{number}" is inactive.')
    return customer


def account_require(*, company: Company, number: Any) -> GLAccount:
    account = GLAccount.objects.filter(company=company, number=str(number or "")).first()
    if account is None:
        raise field_invalid(f'Account "{number}" does not exist.')
    return account


def bank_require(*, company: Company, code: Any) -> Bank:
    bank = Bank.objects.filter(company=company, code=str(code or "")).first()
    if bank is None:
        raise field_invalid(f'Bank "{code}" does not exist.')
    return bank


def batch_status_parse(value: Any) -> str:
    status = value or "Open"
    if status not in ("Open", "ReadyToPost"):
        raise field_invalid(f'Batch status "{status}" cannot be set; use Open or ReadyToPost.')
    return status
