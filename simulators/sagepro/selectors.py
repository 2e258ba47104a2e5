"""Reads of the Sage Pro simulator: one filtered, ordered queryset per gateway resource."""

from collections.abc import Callable
from datetime import UTC, datetime

from django.db.models import QuerySet

from simulators.sagepro.fields import SproError
from simulators.sagepro.models import (
    SproCustomer,
    SproGlBatch,
    SproInvoice,
    SproOrder,
    SproPaymentNote,
    SproReceipt,
    SproSite,
    SproStock,
)

Filter = Callable[[QuerySet, str], QuerySet]


def _exact(lookup: str, *, upper: bool = False) -> Filter:
    return lambda qs, value: qs.filter(**{lookup: value.upper() if upper else value})


def _one_of(lookup: str) -> Filter:
    return lambda qs, value: qs.filter(**{f"{lookup}__in": [v.strip().upper() for v in value.split(",")]})


def _flag(**lookups: object) -> Filter:
    return lambda qs, value: qs.filter(**lookups) if value.lower() in ("1", "true", "yes") else qs


def _since(qs: QuerySet, value: str) -> QuerySet:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SproError("INVALID_FILTER", f"updated_since is not ISO 8601: {value}", status=400) from None
    return qs.filter(updated_at__gte=moment if moment.tzinfo else moment.replace(tzinfo=UTC))


CUSTOMER_FILTERS: dict[str, Filter] = {
    "custno": _exact("custno", upper=True),
    "email": _exact("email__iexact"),
    "company": _exact("company__icontains"),
    "reference": _exact("reference"),
    "updated_since": _since,
}
INVOICE_FILTERS: dict[str, Filter] = {
    "custno": _exact("customer__custno", upper=True),
    "open": _flag(balance__gt=0, doctype=SproInvoice.DocType.INVOICE),
    "doctype": _exact("doctype", upper=True),
    "ponum": _exact("ponum"),
    "reference": _exact("reference"),
    "updated_since": _since,
}
RECEIPT_FILTERS: dict[str, Filter] = {
    "custno": _exact("customer__custno", upper=True),
    "checkno": _exact("checkno"),
    "reference": _exact("checkno"),
    "batch": _exact("batch", upper=True),
    "status": _exact("status", upper=True),
    "updated_since": _since,
}
ORDER_FILTERS: dict[str, Filter] = {
    "custno": _exact("customer__custno", upper=True),
    "ponum": _exact("ponum"),
    "reference": _exact("ponum"),
    "updated_since": _since,
}
JOURNAL_FILTERS: dict[str, Filter] = {
    "reference": _exact("reference"),
    "batch": _exact("batch", upper=True),
    "updated_since": _since,
}
PAYMENT_NOTE_FILTERS: dict[str, Filter] = {
    "custno": _exact("customer__custno", upper=True),
    "invno": _exact("invoice__invno", upper=True),
    "reference": _exact("reference"),
    "updated_since": _since,
}
STOCK_FILTERS: dict[str, Filter] = {"item": _one_of("item__item"), "loctid": _exact("loctid", upper=True)}


def sandbox_sagepro_customer_list(*, site: SproSite) -> QuerySet[SproCustomer]:
    return SproCustomer.objects.filter(site=site).order_by("custno")


def sandbox_sagepro_invoice_list(*, site: SproSite) -> QuerySet[SproInvoice]:
    # Oldest first: the order in which cash is applied when a payment names no invoice.
    return SproInvoice.objects.filter(site=site).select_related("customer").order_by("invdate", "invno")


def sandbox_sagepro_receipt_list(*, site: SproSite) -> QuerySet[SproReceipt]:
    return (
        SproReceipt.objects.filter(site=site)
        .select_related("customer", "reverses")
        .prefetch_related("applications__invoice")
        .order_by("rcptno")
    )


def sandbox_sagepro_order_list(*, site: SproSite) -> QuerySet[SproOrder]:
    return (
        SproOrder.objects.filter(site=site)
        .select_related("customer")
        .prefetch_related("lines__item")
        .order_by("sono")
    )


def sandbox_sagepro_journal_list(*, site: SproSite) -> QuerySet[SproGlBatch]:
    return SproGlBatch.objects.filter(site=site).prefetch_related("lines__account").order_by("batch")


def sandbox_sagepro_stock_list(*, site: SproSite) -> QuerySet[SproStock]:
    return SproStock.objects.filter(item__site=site).select_related("item").order_by("item__item", "loctid")


def sandbox_sagepro_filter(
    *, queryset: QuerySet, filters: dict[str, Filter], params: dict[str, str]
) -> QuerySet:
    for name, value in params.items():
        if name not in filters:
            known = ", ".join(sorted(filters))
            raise SproError("UNKNOWN_FILTER", f"no filter {name}; use one of {known}", field=name, status=400)
        queryset = filters[name](queryset, value)
    return queryset


def sandbox_sagepro_payment_note_list(*, site: SproSite) -> QuerySet[SproPaymentNote]:
    return (
        SproPaymentNote.objects.filter(site=site)
        .select_related("customer", "invoice", "order")
        .order_by("noteno")
    )
