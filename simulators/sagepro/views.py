"""The Sage Pro integration gateway, simulated: `/sandbox/sagepro/api/<resource>[/<key>]`.

The contract (auth, paging, errors, records) is documented in `integrations.sage.sagepro.contract`.
"""

import base64
import binascii
import json
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from simulators.faults import Fault, fault_after_write, fault_before
from simulators.models import System
from simulators.sagepro.fields import SproError
from simulators.sagepro.models import SproSite
from simulators.sagepro.resources import RESOURCES, Resource

GATEWAY_VERSION = "Sage Pro integration gateway 1.0 (Paysage sandbox)"
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
BATCH_MAX = 200
FAULTS = {
    503: SproError("SERVICE_UNAVAILABLE", "the gateway is busy, try again later", status=503),
    423: SproError("TABLE_LOCKED", "ARCASH.DBF is locked by another user, try again later", status=423),
}


def _error(exc: SproError) -> JsonResponse:
    response = JsonResponse({"error": exc.as_dict()}, status=exc.status)
    if exc.status in (423, 429, 503):
        response["Retry-After"] = "1"
    return response


def _site(request: HttpRequest) -> SproSite | None:
    if api_key := request.headers.get("X-Api-Key"):
        return SproSite.objects.filter(api_key=api_key).first()
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return SproSite.objects.filter(site=user.upper(), api_key=password).first()


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SproError("BAD_JSON", f"the body is not JSON: {exc}", status=400) from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SproError("BAD_JSON", "the body must be a JSON object", status=400)
    return body


def gateway(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Authenticate, inject faults, turn `SproError` into the JSON error body."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        site = _site(request)
        if site is None:
            return _error(SproError("AUTH_FAILED", "missing or wrong X-Api-Key or Basic login", status=401))
        if fault_before(system=System.SAGE_PRO, account=site.site) is Fault.ERROR:
            return _error(FAULTS.get(site.fault_status, FAULTS[503]))
        try:
            response = view(request, site=site, **kwargs)
        except SproError as exc:
            return _error(exc)
        if request.method != "GET" and response.status_code < 400:
            fault_after_write(system=System.SAGE_PRO, account=site.site)
        return response

    return wrapper


def _resource(name: str) -> Resource:
    if name not in RESOURCES:
        raise SproError("NOT_FOUND", f"no resource {name}; use one of {', '.join(RESOURCES)}", status=404)
    return RESOURCES[name]


def _not_allowed(request: HttpRequest) -> SproError:
    return SproError("METHOD_NOT_ALLOWED", f"{request.method} is not allowed here", status=405)


def _page(request: HttpRequest, resource: Resource, site: SproSite) -> JsonResponse:
    params = request.GET.copy()
    try:
        page = int(params.pop("page", ["1"])[-1])
        page_size = min(int(params.pop("page_size", [str(PAGE_SIZE_DEFAULT)])[-1]), PAGE_SIZE_MAX)
    except ValueError:
        raise SproError("INVALID_PAGE", "page and page_size must be integers", status=400) from None
    if page < 1 or page_size < 1:
        raise SproError("INVALID_PAGE", "page and page_size start at 1", status=400)
    entries = resource.entries(site=site, params=params.dict())
    count = entries.count()
    start = (page - 1) * page_size
    next_url = None
    if start + page_size < count:
        following = request.GET.copy()
        following["page"] = str(page + 1)
        following["page_size"] = str(page_size)
        next_url = request.build_absolute_uri(f"{request.path}?{following.urlencode()}")
    results = [resource.record(entry) for entry in entries[start : start + page_size]]
    return JsonResponse(
        {"count": count, "page": page, "page_size": page_size, "next": next_url, "results": results}
    )


def _batch(resource: Resource, site: SproSite, body: list[Any]) -> JsonResponse:
    """An array POST: each row is applied or refused on its own; the answer lists every row."""
    if len(body) > BATCH_MAX:
        raise SproError("BATCH_TOO_LARGE", f"at most {BATCH_MAX} rows per request", status=400)
    results = []
    # One database transaction for the array, each row in a savepoint of its own (the row's service is
    # atomic): a row is still applied or refused on its own, but the array commits once instead of once a
    # row, which made a commit per receipt most of the gateway's time.
    with transaction.atomic():
        for row, data in enumerate(body, start=1):
            try:
                entry = resource.create(site=site, data=_object(data))
            except SproError as exc:
                results.append({"row": row, "status": "error", "error": exc.as_dict()})
            else:
                results.append({"row": row, "status": "ok", "record": resource.record(entry)})
    return JsonResponse({"results": results})


@gateway
def site_view(request: HttpRequest, *, site: SproSite) -> JsonResponse:
    if request.method != "GET":
        raise _not_allowed(request)
    return JsonResponse(
        {"SITE": site.site, "COMPANY": site.company, "VERSION": GATEWAY_VERSION, "TIME": timezone.now()}
    )


@gateway
def collection_view(request: HttpRequest, *, site: SproSite, resource: str) -> JsonResponse:
    res = _resource(resource)
    if request.method == "GET":
        return _page(request, res, site)
    if request.method != "POST" or res.create is None:
        raise _not_allowed(request)
    body = _body(request)
    if isinstance(body, list) and res.batch:
        return _batch(res, site, body)
    return JsonResponse(res.record(res.create(site=site, data=_object(body))), status=201)


@gateway
def entry_view(request: HttpRequest, *, site: SproSite, resource: str, key: str) -> JsonResponse:
    res = _resource(resource)
    if not res.key:
        raise _not_allowed(request)
    if request.method == "PUT" and res.update is not None:
        return JsonResponse(res.record(res.update(site=site, key=key, data=_object(_body(request)))))
    if request.method != "GET":
        raise _not_allowed(request)
    entry = res.queryset(site=site).filter(**{res.lookup: key.upper()}).first()
    if entry is None:
        raise SproError("NOT_FOUND", f"{res.key} {key} does not exist", field=res.key, status=404)
    return JsonResponse(res.record(entry))
