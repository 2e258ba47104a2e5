"""The PayTrace event types the webhook takes, each declared once.

The intake validates an event against its declaration, the inbox routes it to the handler its owning app
registered for that name, and a system check refuses a declared type that no app handles."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # The key in the event's `data` naming what is read again from PayTrace; empty when nothing is required.
    subject_field: str = ""
    # PayTrace transaction ids are numeric, vault customer ids are free text.
    subject_numeric: bool = False


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType(
            "transaction.success",
            "A sale, authorization, capture or ACH payment was approved.",
            "transactionId",
            True,
        ),
        EventType("transaction.declined", "A payment was declined.", "transactionId", True),
        EventType("transaction.refund", "A refund was made.", "transactionId", True),
        EventType("transaction.void", "A transaction was voided before settlement.", "transactionId", True),
        EventType("chargeback.created", "The card holder disputed a sale.", "transactionId", True),
        EventType("customer.updated", "A vault customer was created or changed.", "customerId"),
        EventType("batch.settled", "A settlement batch closed; `batchNumber` names it when known."),
    )
}
