"""`/Sage300WebApi/v1.0/-/<COMPANY>/<MODULE>/<Resource>`: one view that behaves like the Web API's
front door (sign-on, the mandatory Content-Type, faults) and hands the verb to the resource."""

import base64
import binascii
import re
from contextlib import nullcontext
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from simulators.faults import Fault, fault_after_write, fault_before
from simulators.models import System
from simulators.sage300.errors import WebApiError, invalid_payload, not_found
from simulators.sage300.models import Company
from simulators.sage300.odata import feed_build, key_parse, select_apply
from simulators.sage300.resources import RESOURCES, Resource
from simulators.sage300.schema import EDMX, Shape
from simulators.sage300.wire import dumps, loads

_RESOURCE = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<key>.*)\))?$")
# `$metadata` is the AR module's only: Sage publishes no other module's.
_METADATA = {"AR": EDMX}


def _json(body: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(body), status=status, content_type="application/json; charset=utf-8")


def _error(error: WebApiError) -> HttpResponse:
    response = _json(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Sage300WebApi"'
    return response


def _signed_on(request: HttpRequest, company: Company) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return username.upper() == company.username and password == company.password


def _fault_response(company: Company) -> HttpResponse:
    if company.fault_status == 429:
        return _error(WebApiError(429, "TooManyRequests", "The server is too busy to handle the request."))
    # IIS answers for a stopped or recycling application pool, before the Web API sees the request.
    return HttpResponse("The service is unavailable.", status=503, content_type="text/plain")


def _named_key(shape: Shape, key: dict[str, str] | list[str]) -> dict[str, str]:
    """`('1200')` or `(CustomerNumber='1200')`; composite keys need every part, named or in key order."""
    named = key if isinstance(key, dict) else dict(zip(shape.key, key, strict=False))
    if not shape.key or set(named) != set(shape.key) or len(named) != len(key):
        raise WebApiError(400, "InvalidEntityKey", f"The key must name {', '.join(shape.key) or 'nothing'}.")
    return named


def _entry(records: list[dict], key: dict[str, str]) -> dict:
    for record in records:
        if all(str(record.get(name)) == value for name, value in key.items()):
            return record
    raise not_found("A Record cannot be found for the specified entity key")


def _body(request: HttpRequest, shape: Shape) -> dict[str, Any]:
    try:
        body = loads(request.body or b"{}")
    except ValueError:
        raise invalid_payload("The request body is not valid JSON.") from None
    return shape.check(body)


def _action(request: HttpRequest, company: Company, resource: Resource, action: str) -> tuple[int, Any]:
    """`('$template')` answers the type's default payload; `('$process')` runs the process and, as
    Sage documents, answers no body. Any other action is InvalidAction."""
    if action == "$template" and (resource.create or resource.process):
        return 200, resource.shape.complete(resource.template or {})
    if action != "$process" or resource.process is None:
        raise WebApiError(400, "InvalidAction", f"The action '{action}' is not supported.")
    resource.process(company=company, payload=_body(request, resource.shape))
    return 204, None


def _dispatch(request: HttpRequest, company: Company, module: str, target: str) -> tuple[int, Any]:
    match = _RESOURCE.match(target)
    resource = RESOURCES.get((module, match["name"])) if match else None
    if resource is None:
        raise WebApiError(404, "ResourceNotFound", f"The resource '{module}/{target}' does not exist.")
    key = key_parse(match["key"]) if match["key"] else None
    method = request.method
    if method == "POST" and isinstance(key, list) and len(key) == 1 and key[0].startswith("$"):
        return _action(request, company, resource, key[0])
    if method == "GET" and resource.records:
        records = resource.records(company=company)
        params = {name: request.GET[name] for name in request.GET}
        if key is not None:
            entry = _entry(records, _named_key(resource.shape, key))
            return 200, {
                "@odata.context": _context(request, match["name"], "/$entity"),
                **select_apply(entry, params.get("$select", "")),
            }
        return 200, feed_build(
            records=records,
            params=params,
            base_url=request.build_absolute_uri(request.path),
            context=_context(request, match["name"], ""),
            page_size=company.page_size,
            legacy=company.legacy_odata,
        )
    if method == "POST" and key is None and resource.create:
        return 201, resource.create(company=company, payload=_body(request, resource.shape))
    writers = {"PATCH": resource.update, "PUT": resource.replace, "DELETE": resource.delete}
    if key is not None and writers.get(method):
        named = _named_key(resource.shape, key)
        if method == "DELETE":
            resource.delete(company=company, key=named)
        else:
            writers[method](company=company, key=named, payload=_body(request, resource.shape))
        # No body: Sage's Postman instructions for PUT and DELETE; for PATCH, OData's default answer [U].
        return 204, None
    raise WebApiError(405, "MethodNotAllowed", f"{method} is not allowed on {module}/{match['name']}.")


def _context(request: HttpRequest, entity_set: str, suffix: str) -> str:
    return request.build_absolute_uri(f"{request.path.rsplit('/', 1)[0]}/$metadata#{entity_set}{suffix}")


@csrf_exempt
def web_api(request: HttpRequest, company: str, module: str, resource: str) -> HttpResponse:
    record = Company.objects.filter(code=company.upper()).first()
    if record is None:
        return _error(
            WebApiError(401, "Unauthorized", f"Company {company} does not exist or access is denied.")
        )
    if fault_before(system=System.SAGE_300, account=record.code) is Fault.ERROR:
        return _fault_response(record)
    if not _signed_on(request, record):
        return _error(WebApiError(401, "Unauthorized", "Invalid user ID or password."))
    if request.content_type != "application/json":
        # The real server fails deep inside ASP.NET without the header: a bare 500 in that framework's shape.
        return _json({"Message": "An error has occurred."}, status=500)
    if resource == "$metadata" and request.method == "GET" and module.upper() in _METADATA:
        return HttpResponse(_METADATA[module.upper()].read_bytes(), content_type="application/xml")
    # A read runs outside a transaction: on the embedded SQLite default, `transaction.atomic` begins
    # IMMEDIATE (takes the writer lock), and the portal reads this ERP from inside its own write
    # transaction (the webhook drain applies payments against the ERP's balances there), so an atomic read
    # would wait on its own caller until the lock timed out and answer 500.
    try:
        with transaction.atomic() if request.method != "GET" else nullcontext():
            status, body = _dispatch(request, record, module.upper(), resource)
    except WebApiError as error:
        return _error(error)
    if request.method != "GET":
        fault_after_write(system=System.SAGE_300, account=record.code)
    return HttpResponse(status=204) if body is None else _json(body, status=status)
