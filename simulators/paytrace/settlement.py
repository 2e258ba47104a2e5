"""Batch settlement: on demand (`/v1/transactions/settle`) and at the account's daily cut-off.

The cut-off is applied lazily: every authenticated request first settles whatever was pending before the
most recent cut-off, so a simulator that was not running at 17:00 still shows yesterday's batch."""

from datetime import datetime, timedelta

from django.db.models import Max

from simulators.paytrace.models import PtAccount, PtBatch, PtTransaction
from simulators.paytrace.selectors import account_zone


def pt_batch_settle(
    *, account: PtAccount, settled_at: datetime, created_before: datetime | None = None
) -> PtBatch | None:
    pending = PtTransaction.objects.filter(account=account, status_code="Y")
    if created_before is not None:
        pending = pending.filter(created_at__lt=created_before)
    if not pending.exists():
        return None
    number = (PtBatch.objects.filter(account=account).aggregate(top=Max("number"))["top"] or 0) + 1
    batch = PtBatch.objects.create(account=account, number=number, settled_at=settled_at)
    pending.update(batch=batch, status_code=f"GB{number}", status_message="Settled", settled_at=settled_at)
    return batch


def cutoff_latest(account: PtAccount, *, now: datetime) -> datetime:
    local_now = now.astimezone(account_zone(account))
    cutoff = local_now.replace(
        hour=account.settle_cutoff.hour, minute=account.settle_cutoff.minute, second=0, microsecond=0
    )
    return cutoff if cutoff <= local_now else cutoff - timedelta(days=1)


def pt_settlement_due(*, account: PtAccount, now: datetime) -> bool:
    """Whether a cut-off has passed with sales still pending (what `pt_settle_due` would settle)."""
    cutoff = cutoff_latest(account, now=now)
    return PtTransaction.objects.filter(account=account, status_code="Y", created_at__lt=cutoff).exists()


def pt_settle_due(*, account: PtAccount, now: datetime) -> PtBatch | None:
    cutoff = cutoff_latest(account, now=now)
    return pt_batch_settle(account=account, settled_at=cutoff, created_before=cutoff)
