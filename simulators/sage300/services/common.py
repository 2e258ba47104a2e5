"""What every Sage 300 business view checks before it accepts a record."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from simulators.counters import counter_increment
from simulators.sage300.errors import field_invalid, invalid_payload
from simulators.sage300.models import Bank, Company, Counter, Customer, GLAccount

FISCAL_YEARS_BACK = 5  # unless the company says otherwise, the fiscal calendar holds these past years


def counter_next(*, company: Company, name: str) -> int:
    """Server-assigned numbers never repeat, even for concurrent requests: numbering is serialised on the
    company row (callers run inside the request's transaction)."""
    Company.objects.select_for_update().filter(pk=company.pk).first()
    return counter_increment(model=Counter, keys={"company": company.pk, "name": name})


def today() -> date:
    return timezone.now().date()


def date_parse(value: Any, *, company: Company, field: str, required: bool = True) -> date | None:
    """A date as the samples send it (`2020-01-15` or `2020-06-20T00:00:00Z`) that falls in the fiscal
    calendar: from the company's first fiscal year (or five years back) to next year."""
    if value in (None, ""):
        if required:
            raise field_invalid(f"{field} is required.")
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise invalid_payload(f"'{value}' is not a valid date for {field}.") from None
    this_year = timezone.now().year
    first = company.first_fiscal_year or this_year - FISCAL_YEARS_BACK
    if not first <= parsed.year <= this_year + 1:
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
    """The two statuses a client may give a batch (AR BatchStatus / GL JournalBatchStatus members in the
    SDK's enumeration resources); the others are the server's own doing."""
    status = value or "Open"
    if status not in ("Open", "ReadyToPost"):
        raise field_invalid(f'Batch status "{status}" cannot be set; use Open or ReadyToPost.')
    return status
