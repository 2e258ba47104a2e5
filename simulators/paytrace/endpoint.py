"""The frame every simulated v1 resource call runs in: Bearer token, fault injection, JSON body, lazy
daily settlement, one database transaction, PayTrace's error answer, and the after-write fault."""

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from simulators.faults import Fault, fault_after_write, fault_before
from simulators.models import System
from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.instruments import amount_parse
from simulators.paytrace.models import PtAccount
from simulators.paytrace.selectors import account_zone, pt_account_for_token
from simulators.paytrace.services.transactions import Origin
from simulators.paytrace.settlement import pt_settle_due, pt_settlement_due
from simulators.paytrace.wire import pt_json

ADDRESS_FIELDS = ("name", "street_address", "street_address2", "city", "county", "state", "zip", "country")
DETAIL_FIELDS = ("invoice_id", "description", "email", "customer_reference_id")


def json_object(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def address_of(value: Any) -> dict[str, str]:
    data = value if isinstance(value, dict) else {}
    return {key: str(data[key]) for key in ADDRESS_FIELDS if data.get(key) not in (None, "")}


@dataclass(frozen=True)
class Call:
    account: PtAccount
    body: dict[str, Any]
    from_ip: str

    def text(self, key: str) -> str:
        value = self.body.get(key)
        return "" if value is None else str(value).strip()

    def amount(self) -> Decimal:
        return amount_parse(self.body.get("amount"))

    def amount_optional(self) -> Decimal | None:
        return None if self.body.get("amount") in (None, "") else self.amount()

    def local_today(self) -> date:
        return timezone.now().astimezone(account_zone(self.account)).date()

    def details(self) -> dict[str, Any]:
        found: dict[str, Any] = {key: self.text(key) for key in DETAIL_FIELDS if self.text(key)}
        if self.text("tax_amount"):
            found["tax_amount"] = amount_parse(self.body["tax_amount"])
        return found

    def origin(self, *, customer_id: str = "", billing_address: dict[str, Any] | None = None) -> Origin:
        return Origin(
            from_ip=self.from_ip,
            details=self.details(),
            billing_address=address_of(self.body.get("billing_address")) or billing_address or {},
            customer_id=customer_id,
        )


Handler = Callable[[Call], dict[str, Any]]


def _invalid_token(description: str) -> HttpResponse:
    return pt_json(
        {"error": "invalid_token", "error_description": description},
        status=401,
        headers={
            "WWW-Authenticate": f'Bearer realm="PayTrace", error="invalid_token", '
            f'error_description="{description}"'
        },
    )


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _account_settled(*, account: PtAccount, locks: bool, now: datetime) -> PtAccount:
    """The account, its due cut-off settled. A write holds the account's lock for its whole transaction:
    one write at a time per account keeps batch numbers sequential. A read does not queue behind other
    calls: PayTrace's export pages (help.paytrace.com/json-export-tranx-date, /api-export-single-batch)
    describe plain reads of what is recorded, with nothing that orders them per account; so a read takes
    the lock only when a cut-off has passed with sales still pending, to settle them first, as a read
    after the cut-off sees them settled."""
    if not locks:  # a read with no cut-off to settle (`locks`: a write, or a settlement due)
        return account
    locked = PtAccount.objects.select_for_update().get(pk=account.pk)
    pt_settle_due(account=locked, now=now)
    return locked


def pt_endpoint(
    *, writes: bool, external_id: bool = False
) -> Callable[[Handler], Callable[[HttpRequest], HttpResponse]]:
    """`external_id`: the endpoint's answers carry `external_transaction_id`, and so do its errors."""

    def decorate(handler: Handler) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @require_POST
        @wraps(handler)
        def view(request: HttpRequest) -> HttpResponse:
            token = _bearer(request)
            account = pt_account_for_token(token=token) if token else None
            if account is None:
                return _invalid_token(
                    "The access token is invalid" if token else "No access token was provided"
                )
            if fault_before(system=System.PAYTRACE, account=account.username) is Fault.ERROR:
                return pt_json(
                    {
                        "success": False,
                        "status_message": "The service is temporarily unavailable. Please retry.",
                    },
                    status=503,
                )
            body = json_object(request)
            if body is None:
                error = PtApiError(codes.REQUEST_INVALID, "The request body must be a JSON object.")
                return pt_json(error.as_body(external_id=external_id), status=400)
            # A plain read runs outside a transaction: on the embedded SQLite default `transaction.atomic`
            # takes the one writer lock, which the portal holds while it reads PayTrace inside its own
            # transaction (a new vault customer read during the webhook drain): the read would wait on
            # its own caller until the lock timed out.
            now = timezone.now()
            locks = writes or pt_settlement_due(account=account, now=now)
            try:
                with transaction.atomic() if locks else nullcontext():
                    current = _account_settled(account=account, locks=locks, now=now)
                    answer = handler(
                        Call(account=current, body=body, from_ip=request.META.get("REMOTE_ADDR", ""))
                    )
            except PtApiError as exc:
                return pt_json(exc.as_body(external_id=external_id), status=400)
            if writes:
                fault_after_write(system=System.PAYTRACE, account=account.username)
            return pt_json(answer)

        return view

    return decorate
