"""Who is who: matching a customer to ours or to an ERP's, and flagging probable duplicates.

The rules, in order: the normalised email, then the normalised name together with the postal code.
One candidate is a match; several are an ambiguity a person resolves. Probable duplicates (one email on
two customers, near-identical names at one postal code) become `DuplicateCandidate` rows and are never
merged here."""

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db.models import Q

from customers.models import Customer, DuplicateCandidate
from customers.normalize import email_normalize, name_normalize, postal_code_normalize
from integrations.models import Connection
from integrations.sage.base import ErpCustomer, ErpPermanentError
from integrations.sage.connector import ErpConnector

# Names this alike (difflib ratio over the normalised names) at one postal code are probably one customer.
NAME_SIMILARITY = 0.9


@dataclass(frozen=True)
class CustomerMatch:
    """`customer` when exactly one candidate matched; `candidates` when several did (ambiguous)."""

    customer: Customer | None = None
    candidates: list[Customer] = field(default_factory=list)
    rule: str = ""

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


class AmbiguousErpCustomer(ErpPermanentError):
    def __init__(self, message: str):
        super().__init__(message, code="AmbiguousCustomer")


def _postal_matches(candidates: list, postal_code: str, postal_of) -> list:
    wanted = postal_code_normalize(postal_code)
    return [c for c in candidates if wanted and postal_code_normalize(postal_of(c)) == wanted]


def customer_match(
    *, email: str, name: str, postal_code: str, unlinked_to: Connection | None = None
) -> CustomerMatch:
    """Our customer for these details. `unlinked_to` leaves out customers that already have an id in that
    system: a second id there is another customer, not this one."""
    customers = Customer.objects.all()
    if unlinked_to is not None:
        customers = customers.exclude(links__connection=unlinked_to)
    normalized_email = email_normalize(email)
    if normalized_email:
        by_email = list(customers.filter(email_normalized=normalized_email).order_by("pk")[:5])
        if by_email:
            return _match_of(by_email, rule="email")
    normalized_name = name_normalize(name)
    if not normalized_name:
        return CustomerMatch()
    by_name = list(customers.filter(name_normalized=normalized_name).order_by("pk")[:50])
    return _match_of(_postal_matches(by_name, postal_code, lambda c: c.postal_code), rule="name_postal")


def _match_of(candidates: list[Customer], *, rule: str) -> CustomerMatch:
    if len(candidates) == 1:
        return CustomerMatch(customer=candidates[0], candidates=candidates, rule=rule)
    return CustomerMatch(candidates=candidates, rule=rule)


def erp_customer_match(*, connector: ErpConnector, customer: Customer) -> ErpCustomer | None:
    """The ERP's customer for ours by the same rules, or None. Several raise `AmbiguousErpCustomer`."""
    wanted_email = email_normalize(customer.email)
    if wanted_email:
        found = [
            c
            for c in connector.customer_find_by_email(email=customer.email)
            if email_normalize(c.email) == wanted_email
        ]
        if found:
            return _single_erp_customer(found, customer=customer)
    wanted_name = name_normalize(customer.name)
    found = [
        c
        for c in connector.customer_find_by_name(name=customer.name)
        if name_normalize(c.name) == wanted_name
    ]
    found = _postal_matches(found, customer.postal_code, lambda c: c.address.postal_code)
    return _single_erp_customer(found, customer=customer) if found else None


def _single_erp_customer(found: list[ErpCustomer], *, customer: Customer) -> ErpCustomer:
    if len(found) > 1:
        numbers = ", ".join(c.number for c in found[:5])
        raise AmbiguousErpCustomer(
            f"{len(found)} ERP customers match {customer} ({numbers}): link the right one by hand."
        )
    return found[0]


def duplicate_candidate_flag(
    *, customer: Customer, other: Customer, reason: str
) -> DuplicateCandidate | None:
    """One review row per pair, whichever way round it was found; a decided pair is not reopened."""
    if customer.pk == other.pk:
        return None
    first, second = sorted((customer, other), key=lambda c: c.pk)
    candidate, _ = DuplicateCandidate.objects.get_or_create(
        customer=first, other=second, defaults={"reason": reason[:200]}
    )
    return candidate


def names_alike(first: str, second: str) -> bool:
    return SequenceMatcher(None, first, second).ratio() >= NAME_SIMILARITY


def customer_duplicates_flag(*, customer: Customer) -> list[DuplicateCandidate]:
    """Flag the customers that are probably this one: the same email, or a near-identical name at the
    same postal code. Only those few rows are compared, never the whole table."""
    query = Q()
    if customer.email_normalized:
        query |= Q(email_normalized=customer.email_normalized)
    if customer.postal_code:
        query |= Q(postal_code__iexact=customer.postal_code.strip())
    if not query:
        return []
    flagged = []
    for other in Customer.objects.filter(query).exclude(pk=customer.pk).order_by("pk")[:200]:
        if customer.email_normalized and other.email_normalized == customer.email_normalized:
            reason = f"Same email {customer.email_normalized}"
        elif customer.name_normalized and names_alike(customer.name_normalized, other.name_normalized):
            reason = f"Near-identical names at postal code {customer.postal_code}"
        else:
            continue
        candidate = duplicate_candidate_flag(customer=customer, other=other, reason=reason)
        if candidate is not None:
            flagged.append(candidate)
    return flagged
