"""How a chargeback reaches the ERP, decided in one place so that our copy and the ERP move the same way.

Finance chooses per ERP in the status mapping's `chargeback` row:
- `reopen_invoice` on: the sale's receipt is reversed in the ERP with
  that ERP's own reversal document (Sage 300: an AR adjustment batch against the bank; Sage X3: the mirror
  payment that cancels it; Sage Pro: a reversing cash receipt), so its invoices are open again there, and
  our allocations of the sale are reversed with it. The reversal moves the money out of the bank, so no
  journal entry is posted besides;
- otherwise: the invoice stays paid on both sides and the loss is booked by a journal entry (the GL rules'
  `chargebacks` account against `clearing`).
The row's action "Post nothing" sends neither; any other action leaves the choice to `reopen_invoice`.
Every ERP reverses a receipt as a whole, so only a chargeback of the whole sale, on a receipt nothing else
has reversed yet, reopens; a partial or a second chargeback books the loss, and its review item says so."""

from integrations.models import Connection, ErpPosting, StatusMapping
from payments.models import Transaction

CHARGEBACK_STATUS = "chargeback"
REVERSAL = ErpPosting.DocumentType.REVERSAL


def chargeback_reversal_reference(*, chargeback: Transaction) -> str:
    """`<sale's receipt>-C<n>`: our reference of the reversal a chargeback sends, n its number on the sale."""
    return f"{chargeback.original.transaction_id}-C{chargeback.transaction_id.rsplit('-', 1)[-1]}"


def _reopen_chosen(*, erp: str) -> bool:
    mapping = StatusMapping.objects.filter(erp=erp, paytrace_status=CHARGEBACK_STATUS).first()
    # "Post nothing" leaves the ERP as it is: our copy must not reopen alone either.
    return bool(mapping and mapping.reopen_invoice and mapping.action != StatusMapping.Action.NONE)


def _receipt_reversible(*, chargeback: Transaction, erp: Connection) -> bool:
    """The sale has a receipt bound for the ERP, and no void or earlier chargeback reverses it."""
    receipt = chargeback.original.transaction_id
    postings = ErpPosting.objects.filter(connection=erp).exclude(status=ErpPosting.Status.CANCELLED)
    if not postings.filter(document_type=ErpPosting.DocumentType.RECEIPT, reference=receipt).exists():
        return False
    own = chargeback_reversal_reference(chargeback=chargeback)
    return not (
        postings.filter(document_type=REVERSAL, reference__startswith=f"{receipt}-")
        .exclude(reference=own)
        .exclude(reference__regex=r"-U\d+$")
        .exists()
    )


def chargeback_reopens(*, chargeback: Transaction, erp: Connection) -> bool:
    """True: the sale's receipt is reversed in `erp` and its invoices reopen on both sides; False: both
    keep them paid and a journal entry books the loss."""
    sale = chargeback.original
    if sale is None or chargeback.amount != sale.amount:
        return False
    return _reopen_chosen(erp=erp.system) and _receipt_reversible(chargeback=chargeback, erp=erp)
