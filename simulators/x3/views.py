"""HTTP face of the simulated Syracuse server: the classic SOAP endpoint and the api1 REST API."""

import base64
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from simulators.faults import Fault, fault_after_write, fault_before
from simulators.models import System
from simulators.x3.adx import Result, XmlUnreadable, result_text
from simulators.x3.imports import import_run
from simulators.x3.models import X3Folder
from simulators.x3.objects import (
    customer_modify,
    customer_save,
    sales_invoice_modify,
    sales_invoice_save,
    sales_order_save,
)
from simulators.x3.selectors import (
    API1_CLASSES,
    Api1Class,
    customer_result,
    invoice_result,
    order_result,
    soap_object_query,
    soap_object_read,
)
from simulators.x3.services import X3Refusal, password_digest
from simulators.x3.soap import (
    MESSAGE_ERROR,
    MESSAGE_WARNING,
    WSDL_OPERATIONS,
    SoapCall,
    SoapRequestError,
    soap_answer,
    soap_call_read,
    soap_fault,
)
from simulators.x3.where import WhereError, key_q, where_q

_RESOURCE = re.compile(r"^(?P<cls>[A-Z0-9_]+)(?:\('(?P<key>(?:[^']|'')*)'\))?$")
_DECIMAL_MARK = "\u0000dec:"
DEFAULT_COUNT = 20  # Sage's query page: "this query returns the first 20 results" unless `count` says
MAX_COUNT = 200  # ours: no published cap


# --- shared answers ------------------------------------------------------------------------------
def diagnoses(status: int, message: str, *, severity: str = "error") -> JsonResponse:
    """Syracuse's JSON error body."""
    return JsonResponse({"$diagnoses": [{"$severity": severity, "$message": message}]}, status=status)


def _authorized(request: HttpRequest, folder: X3Folder) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return False
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return username == folder.username and hmac.compare_digest(
        password_digest(password), folder.password_digest
    )


def _unauthorized() -> HttpResponse:
    response = diagnoses(401, "Authentication required")
    response["WWW-Authenticate"] = 'Basic realm="Syracuse"'
    return response


def _pool_busy(pool_alias: str) -> JsonResponse:
    return diagnoses(503, f"Pool {pool_alias} : no X3 client available (all busy)", severity="transient")


# --- SOAP ----------------------------------------------------------------------------------------
@dataclass
class _Outcome:
    result: Result
    messages: list[tuple[int, str]] = field(default_factory=list)
    wrote: bool = False


def _soap_save(folder: X3Folder, call: SoapCall) -> _Outcome:
    if call.public_name == "BPC":
        return _Outcome(customer_result(customer_save(folder=folder, param=call.param)), wrote=True)
    if call.public_name == "SOH":
        order, shortages = sales_order_save(folder=folder, param=call.param)
        warnings = [(MESSAGE_WARNING, shortage) for shortage in shortages]
        return _Outcome(order_result(order), messages=warnings, wrote=True)
    if call.public_name == "SIH":
        return _Outcome(invoice_result(sales_invoice_save(folder=folder, param=call.param)), wrote=True)
    raise X3Refusal(f"Web service {call.public_name} does not allow save")


def _soap_modify(folder: X3Folder, call: SoapCall) -> _Outcome:
    keys = dict(call.keys)
    if call.public_name == "SIH" and "NUM" in keys:
        invoice = sales_invoice_modify(folder=folder, num=keys["NUM"], param=call.param)
        return _Outcome(invoice_result(invoice), wrote=True)
    if call.public_name != "BPC" or "BPCNUM" not in keys:
        raise X3Refusal(f"Web service {call.public_name} does not allow modify with these keys")
    customer = customer_modify(folder=folder, bpcnum=keys["BPCNUM"], param=call.param)
    return _Outcome(customer_result(customer), wrote=True)


def _soap_run(folder: X3Folder, call: SoapCall) -> _Outcome:
    if call.public_name != "AOWSIMPORT":
        raise X3Refusal(f"Sub-program web service {call.public_name} is not published")
    run = import_run(
        folder=folder,
        template=call.param.text("GRP1", "I_MODIMP"),
        file_text=call.param.text("GRP1", "I_FILE"),
        separator=call.param.text("GRP1", "I_RECORDSEP"),
    )
    # O_STATUS is an Integer in Sage's argument table of the import/export web services; which group
    # carries the outputs of AOWSIMPORT is not shown there, GRP2 is ours.
    outputs = {"O_STATUS": 0 if run.errors else 1, "O_REQNUM": run.request, "O_MESSA": "\n".join(run.log)}
    # Import errors are the log's business: the sub-program itself ran, so status stays 1.
    return _Outcome(
        Result(groups={"GRP2": outputs}),
        messages=[(MESSAGE_ERROR, error) for error in run.errors],
        wrote=run.applied > 0,
    )


def _soap_read(folder: X3Folder, call: SoapCall) -> _Outcome:
    return _Outcome(soap_object_read(folder=folder, public_name=call.public_name, keys=call.keys))


def _soap_query(folder: X3Folder, call: SoapCall) -> _Outcome:
    result = soap_object_query(
        folder=folder, public_name=call.public_name, keys=call.keys, list_size=call.list_size
    )
    return _Outcome(result)


_OPERATIONS = {
    "save": _soap_save,
    "modify": _soap_modify,
    "run": _soap_run,
    "read": _soap_read,
    "query": _soap_query,
}


def _soap_answer(
    call: SoapCall, *, started: float, messages: list[tuple[int, str]], result: Result | None
) -> HttpResponse:
    """status 1 with the RESULT document, or status 0 (a refusal: `result` None) and nil resultXml."""
    body = soap_answer(
        call.operation,
        status=0 if result is None else 1,
        messages=messages,
        result_xml=None if result is None else result_text(result),
        started=started,
    )
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def soap_endpoint(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    if "HTTP_SOAPACTION" not in request.META:
        return diagnoses(500, "Header 'soapAction' is missing")
    try:
        call = soap_call_read(request.body)
    except (SoapRequestError, XmlUnreadable) as exc:
        return diagnoses(500, f"Invalid SOAP request: {exc}")
    if call.operation not in WSDL_OPERATIONS:
        fault = soap_fault(f"No such operation '{call.operation}'")
        return HttpResponse(fault, status=500, content_type="text/xml; charset=utf-8")
    pool_alias = call.context.get("poolAlias", "")
    folder = X3Folder.objects.filter(pool_alias=pool_alias).first()
    if folder is None:
        return diagnoses(500, f"Pool alias '{pool_alias}' does not exist")
    if not _authorized(request, folder):
        return _unauthorized()
    if fault_before(system=System.SAGE_X3, account=pool_alias) is Fault.ERROR:
        return _pool_busy(pool_alias)
    handler = _OPERATIONS.get(call.operation)
    if handler is None:
        refusal = f"Web service {call.public_name} : operation {call.operation} is not available"
        return _soap_answer(call, started=started, messages=[(MESSAGE_ERROR, refusal)], result=None)
    try:
        outcome = handler(folder, call)
    except X3Refusal as refusal:
        messages = [(MESSAGE_ERROR, message) for message in refusal.messages]
        return _soap_answer(call, started=started, messages=messages, result=None)
    if outcome.wrote:
        fault_after_write(system=System.SAGE_X3, account=pool_alias)
    return _soap_answer(call, started=started, messages=outcome.messages, result=outcome.result)


# --- api1 REST -----------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [{k: _json_value(v) for k, v in item.items()} for item in value]
    return value


def _json(data: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """api1 writes decimals as JSON numbers; render them from their exact text, never via float."""
    text = json.dumps(data)
    text = re.sub(r'"\\u0000dec:(-?\d+(?:\.\d+)?)"', r"\1", text)
    return HttpResponse(text, status=status, content_type="application/json; charset=utf-8")


def _entry(request: HttpRequest, folder: X3Folder, name: str, spec: Api1Class, row: Any) -> dict[str, Any]:
    resource = spec.resource(row)
    key = spec.key_of(resource)
    stamp = str(getattr(row, "updated_at", ""))
    path = reverse("sandbox-x3-api1", kwargs={"folder": folder.folder, "resource": f"{name}('{key}')"})
    url = request.build_absolute_uri(path)
    return {
        "$uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"x3:{folder.folder}:{name}:{key}")),
        "$etag": uuid.uuid5(uuid.NAMESPACE_OID, stamp).hex[:16],
        "$key": key,
        "$url": f"{url}?representation={name}.$details",
        **{field: _json_value(value) for field, value in resource.items()},
    }


def _order_by(text: str, spec: Api1Class) -> tuple[list[str], bool]:
    """The ORM ordering of `orderBy`, and whether it is the class's key order (the default)."""
    ordering = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, direction = part.partition(" ")
        if name not in spec.fields:
            raise WhereError(f"Property {name} does not exist")
        ordering.append(("-" if direction.strip().lower() == "desc" else "") + spec.fields[name].path)
    by_key = [spec.fields[name].path for name in spec.key]
    return ordering or by_key, ordering in ([], by_key)


def _next_params(request: HttpRequest, *, by_key: bool, last_key: str, start: int, count: int) -> str:
    params = {name: value for name, value in request.GET.items() if name not in ("startIndex", "key")}
    if by_key:
        # Sage's documented paging (query page): the keys after this page's last, `key=gt.<key>`.
        params["key"] = f"gt.{last_key}"
    else:
        # Another order cannot page by key: SData's startIndex, which the feed reports as $startIndex.
        params["startIndex"] = str(start + count)
    # Keep quotes literal in the link too, as X3 wants them.
    return urlencode(params, safe=chr(39))


def _query(request: HttpRequest, folder: X3Folder, name: str, spec: Api1Class) -> HttpResponse:
    """A `$query` feed, shaped as Sage's query pages document it: `$resources`, `$url`, `$descriptor`,
    `$startIndex`, `$itemsPerPage`, `$totalResults`, and `$links.$next.$url` while more remain."""
    where = request.GET.get("where", "")
    if "%27" in request.META.get("QUERY_STRING", "").upper():
        return diagnoses(400, "Invalid where clause: quotes must not be percent-encoded")
    try:
        count = min(int(request.GET.get("count", DEFAULT_COUNT)), MAX_COUNT)
        start = max(int(request.GET.get("startIndex", 1)), 1)
    except ValueError:
        return diagnoses(400, "count and startIndex must be integers")
    try:
        rows = spec.rows(folder).filter(where_q(where, spec.fields))
        if request.GET.get("key"):
            rows = rows.filter(key_q(request.GET["key"], [spec.fields[part] for part in spec.key]))
        ordering, by_key = _order_by(request.GET.get("orderBy", ""), spec)
        rows = rows.order_by(*ordering, "pk")
        total = rows.count()
    except WhereError as exc:
        return diagnoses(500, str(exc))
    resources = [_entry(request, folder, name, spec, row) for row in rows[start - 1 : start - 1 + count]]
    feed: dict[str, Any] = {
        "$descriptor": f"{name}.$query",
        "$url": request.build_absolute_uri(),
        "$startIndex": start,
        "$itemsPerPage": count,
        "$totalResults": total,
        "$resources": resources,
        "$links": {},
    }
    if start - 1 + count < total:
        query = _next_params(request, by_key=by_key, last_key=resources[-1]["$key"], start=start, count=count)
        feed["$links"]["$next"] = {"$url": f"{request.build_absolute_uri(request.path)}?{query}"}
    return _json(feed)


@require_GET
def api1_endpoint(request: HttpRequest, folder: str, resource: str) -> HttpResponse:
    found = X3Folder.objects.filter(folder=folder).first()
    if found is None:
        return diagnoses(404, f"Endpoint {folder} does not exist")
    if not _authorized(request, found):
        return _unauthorized()
    if fault_before(system=System.SAGE_X3, account=found.pool_alias) is Fault.ERROR:
        return _pool_busy(found.pool_alias)
    match = _RESOURCE.match(resource)
    spec = API1_CLASSES.get(match.group("cls")) if match else None
    if match is None or spec is None:
        return diagnoses(404, f"Class {resource} does not exist")
    name, key = match.group("cls"), match.group("key")
    facet = request.GET.get("representation", "")
    if key is None:
        if facet != f"{name}.$query":
            return diagnoses(400, f"Representation {facet or '(missing)'} is not available for a list")
        return _query(request, found, name, spec)
    if facet != f"{name}.$details":
        return diagnoses(400, f"Representation {facet or '(missing)'} is not available for one record")
    parts = key.replace("''", "'").split("~")
    if len(parts) != len(spec.key):
        return diagnoses(400, f"Key {key} does not match {'~'.join(spec.key)}")
    lookup = {spec.fields[field].path: value for field, value in zip(spec.key, parts, strict=True)}
    row = spec.rows(found).filter(**lookup).first()
    if row is None:
        return diagnoses(404, f"{name} {key} : Record does not exist")
    return _json(_entry(request, found, name, spec, row))
