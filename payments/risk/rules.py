"""The explainable rules: each turns features into a reason with points, or stays silent.

Weights and limits are code defaults below, overridden per rule by `RiskPolicy.rules`, for example
`{"velocity_ip": {"limit": 20}, "avs_mismatch": {"weight": 0}}` (a weight of 0 turns a rule off)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from payments.risk.features import CURRENCY_COUNTRIES, FeatureSettings, TransactionFeatures

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "velocity_customer": {"weight": 25, "limit": 5, "minutes": 60},
    "velocity_card": {"weight": 30, "limit": 5, "minutes": 60},
    "velocity_ip": {"weight": 30, "limit": 10, "minutes": 60},
    "amount_outlier": {"weight": 60, "multiple": Decimal("10"), "min_history": 3},
    "avs_mismatch": {"weight": 25},
    "csc_mismatch": {"weight": 35},
    "card_testing": {"weight": 70, "declines": 3, "minutes": 10, "small_amount": Decimal("5.00")},
    "refund_exceeds_sale": {"weight": 60},
    "refund_after_sale": {"weight": 30, "minutes": 60},
    "refund_without_sale": {"weight": 40},
    "new_customer_large": {"weight": 30, "amount": Decimal("1000.00")},
    # Extra or replacement currency → billing countries, e.g. {"USD": ["US", "CA"]}.
    "country_currency": {"weight": 25, "countries": {}},
}
RULE_LABELS = {
    "velocity_customer": "Customer velocity",
    "velocity_card": "Card velocity",
    "velocity_ip": "IP velocity",
    "amount_outlier": "Amount far above history",
    "avs_mismatch": "AVS mismatch",
    "csc_mismatch": "CSC mismatch",
    "card_testing": "Card testing",
    "refund_exceeds_sale": "Refund larger than sale",
    "refund_after_sale": "Refund right after sale",
    "refund_without_sale": "Refund without sale",
    "new_customer_large": "New customer, large amount",
    "country_currency": "Country / currency mismatch",
    "anomaly": "Anomaly model",
}
# Which parameters are whole numbers; the others (but `countries`) are decimals.
INTEGER_PARAMETERS = frozenset({"weight", "limit", "minutes", "min_history", "declines"})


class RiskRulesInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Reason:
    code: str
    points: int
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "detail": self.detail}


@dataclass(frozen=True)
class RiskRules:
    parameters: dict[str, dict[str, Any]]
    feature_settings: FeatureSettings


def _parameter(*, rule: str, name: str, value: Any) -> Any:
    if name == "countries":
        if not isinstance(value, dict) or not all(isinstance(codes, list) for codes in value.values()):
            raise RiskRulesInvalid(f"{rule}.countries must map a currency to a list of country codes")
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or (name == "weight" and number > 100):
        upper = " to 100" if name == "weight" else " up"
        raise RiskRulesInvalid(f"{rule}.{name} must be a number from 0{upper}")
    if name in INTEGER_PARAMETERS:
        if number != number.to_integral_value():
            raise RiskRulesInvalid(f"{rule}.{name} must be a whole number")
        return int(number)
    return number


def risk_rules_resolve(overrides: Mapping[str, Any] | None) -> RiskRules:
    """The code defaults with the policy's overrides applied; anything unknown or malformed is refused
    with a message naming it, so a typo in the admin cannot silently switch a rule off."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise RiskRulesInvalid("rules must be an object of rule name → settings")
    parameters = {rule: dict(defaults) for rule, defaults in DEFAULT_RULES.items()}
    for rule, settings in (overrides or {}).items():
        if rule not in DEFAULT_RULES:
            raise RiskRulesInvalid(f"unknown rule {rule!r}; known: {', '.join(DEFAULT_RULES)}")
        if not isinstance(settings, Mapping):
            raise RiskRulesInvalid(f'{rule} must be an object such as {{"weight": 30}}')
        for name, value in settings.items():
            if name not in DEFAULT_RULES[rule]:
                known = ", ".join(DEFAULT_RULES[rule])
                raise RiskRulesInvalid(f"unknown setting {rule}.{name}; known: {known}")
            parameters[rule][name] = _parameter(rule=rule, name=name, value=value)
    countries = {
        **CURRENCY_COUNTRIES,
        **{
            currency.upper(): frozenset(code.upper() for code in codes)
            for currency, codes in parameters["country_currency"]["countries"].items()
        },
    }
    return RiskRules(
        parameters=parameters,
        feature_settings=FeatureSettings(
            customer_minutes=parameters["velocity_customer"]["minutes"],
            card_minutes=parameters["velocity_card"]["minutes"],
            ip_minutes=parameters["velocity_ip"]["minutes"],
            card_testing_minutes=parameters["card_testing"]["minutes"],
            small_amount=parameters["card_testing"]["small_amount"],
            currency_countries=countries,
        ),
    )


# --- the rules: features and parameters in, a detail sentence out (None: the rule does not fire) ---

RuleCheck = Callable[[TransactionFeatures, dict[str, Any]], str | None]


def _velocity(count_of: Callable[[TransactionFeatures], int], subject: Callable[[TransactionFeatures], str]):
    def check(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
        count = count_of(f)
        if count <= p["limit"]:
            return None
        return f"{count} transactions {subject(f)} in {p['minutes']} min (limit {p['limit']})"

    return check


def _amount_outlier(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
    if f.is_refund or f.customer_sales < p["min_history"] or not f.customer_median:
        return None
    ratio = f.amount / f.customer_median
    if ratio < p["multiple"]:
        return None
    return (
        f"{f.amount} {f.currency} is {ratio:.1f}× the customer's median of {f.customer_median:.2f} "
        f"over {f.customer_sales} payments (limit {p['multiple']}×)"
    )


def _card_testing(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
    if f.small_declines < p["declines"]:
        return None
    where = " / ".join(part for part in (f"card {f.card}" if f.card else "", f"IP {f.ip_address}") if part)
    return (
        f"{f.small_declines} declines of {p['small_amount']} or less from {where} within "
        f"{p['minutes']} min: the card-testing pattern"
    )


def _refund_exceeds_sale(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
    if f.refund_ratio is None or f.refund_ratio <= 1:
        return None
    return f"refunds of this sale add up to {f.refund_ratio:.0%} of it"


def _refund_after_sale(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
    if f.refund_minutes_after_sale is None or f.refund_minutes_after_sale >= p["minutes"]:
        return None
    return f"refunded {f.refund_minutes_after_sale:.0f} min after the sale (limit {p['minutes']} min)"


def _new_customer_large(f: TransactionFeatures, p: dict[str, Any]) -> str | None:
    if f.is_refund or f.customer_sales or f.amount < p["amount"]:
        return None
    return f"first payment of this customer is {f.amount} {f.currency} (limit {p['amount']})"


CHECKS: dict[str, RuleCheck] = {
    "velocity_customer": _velocity(lambda f: f.customer_count, lambda f: "from this customer"),
    "velocity_card": _velocity(lambda f: f.card_count, lambda f: f"on card {f.card}"),
    "velocity_ip": _velocity(lambda f: f.ip_count, lambda f: f"from IP {f.ip_address}"),
    "amount_outlier": _amount_outlier,
    "avs_mismatch": lambda f, p: "address verification (AVS) answered No Match" if f.avs_mismatch else None,
    "csc_mismatch": lambda f, p: "card security code (CSC) answered No Match" if f.csc_mismatch else None,
    "card_testing": _card_testing,
    "refund_exceeds_sale": _refund_exceeds_sale,
    "refund_after_sale": _refund_after_sale,
    "refund_without_sale": lambda f, p: (
        "refund not linked to any sale" if f.is_refund and not f.refund_has_sale else None
    ),
    "new_customer_large": _new_customer_large,
    "country_currency": lambda f, p: (
        f"billing country {f.billing_country} does not use {f.currency}" if f.country_mismatch else None
    ),
}


def rules_evaluate(*, features: TransactionFeatures, rules: RiskRules) -> list[Reason]:
    reasons = []
    for code, check in CHECKS.items():
        parameters = rules.parameters[code]
        if not parameters["weight"]:
            continue
        detail = check(features, parameters)
        if detail is not None:
            reasons.append(Reason(code=code, points=parameters["weight"], detail=detail))
    return reasons


def anomaly_reason(*, points: int, version: str) -> Reason:
    return Reason(
        code="anomaly", points=points, detail=f"unusual for this merchant's history (model {version})"
    )


def score_total(reasons: list[Reason]) -> int:
    return min(100, sum(reason.points for reason in reasons))
