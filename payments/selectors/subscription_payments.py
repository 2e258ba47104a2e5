"""Which subscription period a payment is for: the period's reference (`SUB-<subscription>-<YYYYMMDD>`)
travels as the PayTrace sale's invoice id and names the ERP invoice raised for it."""

import re
from datetime import date

from payments.models import SubscriptionCharge, Transaction

_REFERENCE = re.compile(r"^SUB-(?P<subscription>\d+)-(?P<start>\d{8})$")


def subscription_charge_for_reference(*, reference: str) -> SubscriptionCharge | None:
    parts = _REFERENCE.match(reference or "")
    if parts is None:
        return None
    digits = parts["start"]
    try:
        start = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return (
        SubscriptionCharge.objects.select_related("subscription__customer", "subscription__erp_connection")
        .filter(subscription_id=int(parts["subscription"]), period_start=start)
        .first()
    )


def subscription_charge_for_payment(*, transaction: Transaction) -> SubscriptionCharge | None:
    """The period a payment (or the refund of one) was charged for."""
    sale = transaction.original or transaction
    return subscription_charge_for_reference(reference=sale.invoice_reference)
