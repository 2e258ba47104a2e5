"""The mapping engine: finance-edited tables turned into ERP codes, accounts, rates and defaults.

A missing row is a permanent posting error whose message names the row to add, never a crash: the
posting goes to the dead-letter queue, finance adds the mapping, and a replay posts it."""

from datetime import date
from decimal import Decimal

from django.db.models import Q

from integrations.memo import memoized
from integrations.models import CurrencyRate, FieldDefault, GLAccountRule, PaymentMethodMapping, StatusMapping
from integrations.sage.base import ErpPermanentError
from portal.money import money_quantize


class MappingMissing(ErpPermanentError):
    def __init__(self, message: str):
        super().__init__(message, code="MappingMissing")


def status_mapping_get(*, erp: str, paytrace_status: str) -> StatusMapping:
    mapping = memoized(
        ("status_mapping", erp, paytrace_status),
        lambda: StatusMapping.objects.filter(erp=erp, paytrace_status=paytrace_status).first(),
    )
    if mapping is None:
        raise MappingMissing(f"No status mapping for {erp} / PayTrace status '{paytrace_status}'.")
    return mapping


def payment_code_get(
    *, erp: str, payment_method: str, card_brand: str, currency: str = ""
) -> PaymentMethodMapping:
    """The most specific row: its currency's (the bank that takes that currency) over the any-currency
    row, then the brand's over the any-brand row (blank matches anything)."""
    mapping = memoized(
        ("payment_code", erp, payment_method, card_brand, currency),
        lambda: (
            PaymentMethodMapping.objects.filter(
                erp=erp,
                payment_method=payment_method,
                card_brand__in=[card_brand, ""],
                currency__in=[currency, ""],
            )
            .order_by("-currency", "-card_brand")
            .first()
        ),
    )
    if mapping is None:
        raise MappingMissing(
            f"No payment method mapping for {erp} / {payment_method} / brand '{card_brand or 'any'}'"
            f" / currency '{currency or 'any'}'."
        )
    return mapping


def gl_rule_get(
    *,
    erp: str,
    purpose: str,
    transaction_type: str = "",
    merchant_id: str = "",
    card_brand: str = "",
    product_category: str = "",
) -> GLAccountRule:
    """The most specific matching rule: a rule's blank fields match anything, and each filled field
    that matches makes it more specific (type, then merchant, then brand, then product category)."""
    candidates = memoized(
        ("gl_rules", erp, purpose, transaction_type, merchant_id, card_brand, product_category),
        lambda: list(
            GLAccountRule.objects.filter(
                Q(transaction_type__in=[transaction_type, ""]),
                Q(merchant_id__in=[merchant_id, ""]),
                Q(card_brand__in=[card_brand, ""]),
                Q(product_category__in=[product_category, ""]),
                erp=erp,
                purpose=purpose,
            )
        ),
    )
    best = max(
        candidates,
        key=lambda rule: (
            bool(rule.transaction_type),
            bool(rule.merchant_id),
            bool(rule.card_brand),
            bool(rule.product_category),
        ),
        default=None,
    )
    if best is None:
        raise MappingMissing(
            f"No GL account rule for {erp} / purpose '{purpose}' (type '{transaction_type or 'any'}',"
            f" merchant '{merchant_id or 'any'}', brand '{card_brand or 'any'}',"
            f" category '{product_category or 'any'}')."
        )
    return best


def currency_convert(*, amount: Decimal, from_currency: str, to_currency: str, on: date) -> Decimal:
    """Convert with the latest rate valid on `on`; the inverse rate is used when only it is on file."""
    if from_currency == to_currency:
        return amount
    rate = (
        CurrencyRate.objects.filter(from_currency=from_currency, to_currency=to_currency, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if rate is not None:
        return money_quantize(amount * rate.rate, to_currency)
    inverse = (
        CurrencyRate.objects.filter(from_currency=to_currency, to_currency=from_currency, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if inverse is not None:
        return money_quantize(amount / inverse.rate, to_currency)
    raise MappingMissing(f"No currency rate {from_currency}→{to_currency} valid on {on.isoformat()}.")


def field_defaults_get(*, erp: str, document_type: str) -> dict[str, str]:
    """Defaults for every document, overridden by the document type's own."""
    rows = memoized(
        ("field_defaults", erp, document_type),
        lambda: list(
            FieldDefault.objects.filter(erp=erp, document_type__in=["", document_type]).order_by(
                "document_type"
            )
        ),
    )
    return {row.field: row.value for row in rows}


def field_default_required(*, erp: str, document_type: str, field: str) -> str:
    value = field_defaults_get(erp=erp, document_type=document_type).get(field, "")
    if not value:
        raise MappingMissing(f"No field default {erp} / {document_type or 'any document'} / {field}.")
    return value


def home_currency(*, erp: str) -> str:
    return field_defaults_get(erp=erp, document_type="").get("home_currency", "USD")
