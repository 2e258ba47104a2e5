"""Reads about customers for the pages where finance decides about them."""

from customers.models import Customer


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def customer_merge_summary(*, customer: Customer) -> str:
    """A customer as the merge page names it: who, its id in each system, what hangs on it."""
    ids = ", ".join(
        f"{link.connection.name}: {link.external_id}"
        for link in customer.links.select_related("connection").order_by("connection__name")
    )
    # Counted through the reverse relations: customers sits below payments and imports none of it.
    counts = ", ".join(
        _counted(getattr(customer, relation).count(), noun)
        for relation, noun in (("transactions", "payment"), ("invoices", "invoice"), ("orders", "order"))
    )
    return f"{customer} (customer {customer.pk}); ids: {ids or 'none'}; {counts}"
