"""Finance's decisions on reconciliation exceptions: resolve, write off, link to a transaction by hand.
Each leaves an AuditEvent; a write-off books a journal entry to the ERP's `write_off` GL account."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone

from integrations.audit import audit_record
from integrations.models import Connection
from integrations.sage.mapping import MappingMissing, gl_rule_get
from integrations.selectors import ConnectionMissing
from payments.models import ReconciliationException, Transaction
from payments.services.journal import journal_entries_plan
from payments.services.postings import erp_connection_for_paytrace
from payments.services.reconciliation import write_off_draft
from portal.lifecycle import status_transition

Status = ReconciliationException.Status


def _locked(exception: ReconciliationException) -> ReconciliationException:
    return (
        ReconciliationException.objects.select_for_update(of=("self",))
        .select_related("settlement_batch__connection", "transaction__connection")
        .get(pk=exception.pk)
    )


def reconciliation_exception_resolve(
    *, exception: ReconciliationException, actor: AbstractBaseUser | None, reason: str
) -> ReconciliationException:
    with db_transaction.atomic():
        exception = _locked(exception)
        status_transition(
            instance=exception,
            to_status=Status.RESOLVED,
            resolved_by=actor if actor is not None and actor.is_authenticated else None,
            resolved_at=timezone.now(),
            resolution_note=reason,
        )
        audit_record(action="reconciliation.resolve", subject=exception, actor=actor, reason=reason)
    return exception


def _write_off_erp(*, exception: ReconciliationException) -> Connection:
    source = exception.settlement_batch or exception.transaction
    return erp_connection_for_paytrace(connection=source.connection)


def reconciliation_write_off_preview(*, exception: ReconciliationException) -> str:
    """What a write-off of this exception would book, in words, for the page that confirms it."""
    amount = f"{exception.currency} {exception.difference}"
    if exception.status != Status.OPEN or not exception.difference:
        why = exception.get_status_display().lower() if exception.status != Status.OPEN else "no difference"
        return f"{exception} — skipped: {why}."
    try:
        erp = _write_off_erp(exception=exception)
        account = gl_rule_get(erp=erp.system, purpose="write_off").account
    except (MappingMissing, ConnectionMissing) as missing:
        return f"{exception} — cannot be written off yet: {missing}. Reason found: {exception.reason}"
    return (
        f"{exception} — writes off {amount} to account {account} in {erp.name}. "
        f"Reason found: {exception.reason}"
    )


def reconciliation_exception_write_off(
    *, exception: ReconciliationException, actor: AbstractBaseUser | None, reason: str
) -> ReconciliationException:
    """Book the difference to the write-off account finance chose in the GL rules, and close it."""
    with db_transaction.atomic():
        exception = _locked(exception)
        erp = _write_off_erp(exception=exception)
        account = gl_rule_get(erp=erp.system, purpose="write_off").account
        clearing = gl_rule_get(erp=erp.system, purpose="clearing").account
        draft = write_off_draft(exception=exception, accounts_erp=erp, account=account, clearing=clearing)
        entry = journal_entries_plan(drafts=[draft])[draft.reference]
        status_transition(
            instance=exception,
            to_status=Status.WRITTEN_OFF,
            journal_entry=entry,
            write_off_account=account,
            resolved_by=actor if actor is not None and actor.is_authenticated else None,
            resolved_at=timezone.now(),
            resolution_note=reason,
        )
        audit_record(
            action="reconciliation.write_off",
            subject=exception,
            actor=actor,
            reason=reason,
            data={"journal_entry": entry.reference, "account": account, "amount": str(exception.difference)},
        )
    return exception


def reconciliation_exception_link(
    *,
    exception: ReconciliationException,
    transaction: Transaction,
    actor: AbstractBaseUser | None,
    reason: str,
) -> ReconciliationException:
    """Say by hand which transaction the difference belongs to; that answers the question."""
    with db_transaction.atomic():
        exception = _locked(exception)
        previous = exception.transaction_id
        ReconciliationException.objects.filter(pk=exception.pk).update(transaction=transaction)
        exception.transaction = transaction
        if exception.status == Status.OPEN:
            status_transition(
                instance=exception,
                to_status=Status.RESOLVED,
                resolved_by=actor if actor is not None and actor.is_authenticated else None,
                resolved_at=timezone.now(),
                resolution_note=f"Linked to {transaction.transaction_id} by hand: {reason}",
            )
        audit_record(
            action="reconciliation.link",
            subject=exception,
            actor=actor,
            reason=reason,
            data={"transaction": transaction.transaction_id, "previous_transaction_pk": previous},
        )
    return exception
