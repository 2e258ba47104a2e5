"""Matching rules and duplicate flags: email first, then name plus postal code; never a silent merge."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.matching import customer_duplicates_flag, customer_match
from customers.models import Customer, DuplicateCandidate
from customers.services import ExternalCustomer, customer_link_upsert, customer_normalized_fields_set
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def customer(name: str, email: str = "", postal_code: str = "98101", **fields) -> Customer:
    row = Customer(name=name, email=email, postal_code=postal_code, **fields)
    customer_normalized_fields_set(customer=row)
    row.save()
    return row


def test_email_matches_whatever_its_case_and_whitespace():
    acme = customer("Acme Outdoor Supply", "ap@acme-outdoor.example")
    match = customer_match(email="  AP@Acme-Outdoor.EXAMPLE ", name="Someone else", postal_code="")
    assert match.customer == acme and match.rule == "email"


def test_name_matches_through_punctuation_and_legal_suffixes_only_at_the_same_postal_code():
    birch = customer("Birch & Maple Café, Inc.", postal_code="97205")
    assert customer_match(email="", name="birch and maple cafe", postal_code="97205").customer == birch
    assert customer_match(email="", name="Birch-Maple Cafe LLC", postal_code=" 97205 ").customer == birch
    assert customer_match(email="", name="Birch and Maple Cafe", postal_code="97206").customer is None


def test_two_candidates_are_ambiguous_and_a_new_customer_is_flagged_beside_both():
    first = customer("Delta Freight", "ar@deltafreight.example")
    second = customer("Delta Freight Chicago", "ar@deltafreight.example", postal_code="60606")
    match = customer_match(email="ar@deltafreight.example", name="", postal_code="")
    assert match.ambiguous and match.customer is None

    vault = ConnectionFactory(system="paytrace")
    link, _ = customer_link_upsert(
        connection=vault,
        data=ExternalCustomer(external_id="C9", name="Delta Freight", email="AR@deltafreight.example"),
    )
    assert link.customer not in (first, second)
    pairs = set(DuplicateCandidate.objects.values_list("customer_id", "other_id"))
    assert pairs == {(first.pk, link.customer.pk), (second.pk, link.customer.pk)}


def test_one_email_on_two_erp_customers_is_flagged_not_merged():
    erp = ConnectionFactory(system="sage_300")
    one, _ = customer_link_upsert(
        connection=erp, data=ExternalCustomer("E1", name="Evergreen Books", email="o@eb.example")
    )
    two, _ = customer_link_upsert(
        connection=erp, data=ExternalCustomer("E2", name="Evergreen Books 2", email="o@eb.example")
    )
    assert one.customer != two.customer
    (candidate,) = DuplicateCandidate.objects.all()
    assert {candidate.customer, candidate.other} == {one.customer, two.customer}
    assert "Same email" in candidate.reason


def test_near_identical_names_at_one_postal_code_are_flagged():
    fjord = customer("Fjord Design Studio", postal_code="V6B1A1")
    typo = customer("Fjord Desing Studio", postal_code="V6B1A1")
    customer("Fjord Design Studio", postal_code="10001")  # far away: another business
    customer("Harbour Design Studio", postal_code="V6B1A1")  # same street, another name
    (candidate,) = customer_duplicates_flag(customer=typo)
    assert {candidate.customer, candidate.other} == {fjord, typo}
    assert customer_duplicates_flag(customer=typo) == [candidate]  # flagged once


def test_each_field_takes_the_newest_edit_from_whichever_system_made_it():
    vault, erp = ConnectionFactory(system="paytrace"), ConnectionFactory(system="sage_300")
    start = timezone.now() - timedelta(hours=3)
    base = {"name": "Cobalt Dental", "email": "a@cobalt.example", "phone": "415-555-0103"}
    link, _ = customer_link_upsert(connection=vault, data=ExternalCustomer("C1", **base, updated_at=start))
    customer_link_upsert(connection=erp, data=ExternalCustomer("E1", **base, updated_at=start))
    # The ERP changes the phone, later PayTrace changes the email (its record still has the old phone).
    customer_link_upsert(
        connection=erp,
        data=ExternalCustomer(
            "E1", **{**base, "phone": "415-555-9999"}, updated_at=start + timedelta(hours=1)
        ),
    )
    customer_link_upsert(
        connection=vault,
        data=ExternalCustomer(
            "C1", **{**base, "email": "ap@cobalt.example"}, updated_at=start + timedelta(hours=2)
        ),
    )
    merged = Customer.objects.get(pk=link.customer_id)
    assert (merged.email, merged.phone) == ("ap@cobalt.example", "415-555-9999")
    # An older snapshot from the ERP changes nothing.
    customer_link_upsert(
        connection=erp,
        data=ExternalCustomer("E1", **{**base, "email": "old@cobalt.example"}, updated_at=start),
    )
    merged.refresh_from_db()
    assert merged.email == "ap@cobalt.example"


def test_an_edit_stamped_in_the_same_second_as_the_held_value_is_not_older():
    from datetime import UTC, datetime

    from customers.services import ExternalCustomer, customer_fields_merge
    from tests.factories import CustomerFactory

    customer = CustomerFactory(email="billing@birchmaple.example")
    # The value we hold came from an ERP that stamps microseconds; PayTrace stamps whole seconds.
    customer.field_updated_at = {"email": datetime(2026, 11, 22, 12, 0, 0, 600000, tzinfo=UTC).isoformat()}
    edit = ExternalCustomer(external_id="C1002", name=customer.name, email="accounts@birchmaple.example")
    changed = customer_fields_merge(
        customer=customer, data=edit, source_updated_at=datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    )
    assert "email" in changed and customer.email == "accounts@birchmaple.example"
    older = ExternalCustomer(external_id="C1002", name=customer.name, email="old@birchmaple.example")
    assert (
        customer_fields_merge(
            customer=customer, data=older, source_updated_at=datetime(2026, 11, 22, 11, 59, 59, tzinfo=UTC)
        )
        == []
    )


def test_a_record_stamped_in_the_same_second_as_the_one_held_is_still_merged():
    from datetime import UTC, datetime

    from customers.services import ExternalCustomer, customer_link_upsert
    from tests.factories import ConnectionFactory

    paytrace = ConnectionFactory()
    stamp = datetime(2026, 11, 22, 5, 7, 34, tzinfo=UTC)  # PayTrace stamps whole seconds
    first = ExternalCustomer(
        external_id="C1002", name="Birch & Maple Cafe", email="billing@birchmaple.example"
    )
    link, _ = customer_link_upsert(connection=paytrace, data=replace(first, updated_at=stamp))
    edited = replace(first, email="accounts@birchmaple.example", updated_at=stamp)
    _, changed = customer_link_upsert(connection=paytrace, data=edited)
    link.customer.refresh_from_db()
    assert changed and link.customer.email == "accounts@birchmaple.example"
    assert customer_link_upsert(connection=paytrace, data=edited)[1] is False  # the same record again
