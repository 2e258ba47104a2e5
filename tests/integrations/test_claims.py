"""Claims survive crashes: the budget is checked per item, unstarted items go back at once, a dead worker's
claims are free again within a minute, and a live worker's heartbeat keeps a long batch its own."""

import dataclasses
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.claims import CLAIM_LEASE, Budget, Lease, rows_claim, rows_drain
from integrations.inbox import INBOX, webhook_events_claim
from integrations.models import ErpPosting, WebhookEvent
from integrations.outbox.poster import postings_claim, postings_post
from tests.factories import ConnectionFactory, ErpPostingFactory, WebhookEventFactory

Status = WebhookEvent.Status


def _processed_slowly(started: list[int], seconds: float):
    def process(ids: list[int], budget: Budget) -> list[int]:
        for index, pk in enumerate(ids):
            if budget.spent():
                return ids[index:]
            time.sleep(seconds)
            WebhookEvent.objects.filter(pk=pk).update(status=Status.PROCESSED)
            started.append(pk)
        return []

    return process


@pytest.mark.django_db
def test_a_drain_checks_its_budget_per_item_and_hands_back_at_once_what_it_did_not_start():
    events = [WebhookEventFactory().pk for _ in range(6)]
    started: list[int] = []
    count = rows_drain(
        queue=INBOX,
        claim=lambda now: webhook_events_claim(now=now),
        process=_processed_slowly(started, 0.2),
        time_budget_seconds=0.3,
    )
    assert count == len(started) == 2  # the budget ran out inside the batch, not after it
    left = WebhookEvent.objects.filter(pk__in=events[2:])
    assert set(left.values_list("status", flat=True)) == {Status.PENDING}
    assert sorted(webhook_events_claim()) == events[2:]  # due again now, not after the lease


@pytest.mark.django_db
def test_the_poster_starts_nothing_once_its_budget_is_spent_and_says_what_it_did_not_start():
    erp = ConnectionFactory(system="sage_300", options={"company": "SAMLTD"})
    postings = [ErpPostingFactory(connection=erp) for _ in range(3)]
    claimed = postings_claim()
    spent = Budget(0)
    summary = postings_post(posting_ids=claimed, budget=spent)
    assert sorted(summary.unstarted) == sorted(p.pk for p in postings)
    assert not ErpPosting.objects.filter(attempts__isnull=False).exists()


@pytest.mark.django_db
def test_a_dead_workers_claims_are_claimed_again_within_a_minute():
    event = WebhookEventFactory()
    assert webhook_events_claim(now=timezone.now() - timedelta(seconds=30)) == [event.pk]
    assert webhook_events_claim() == []  # still leased to its worker
    assert CLAIM_LEASE <= timedelta(minutes=1)
    later = timezone.now() + CLAIM_LEASE - timedelta(seconds=29)
    assert webhook_events_claim(now=later) == [event.pk]  # nobody renewed it: its worker is gone


@pytest.mark.django_db(transaction=True)
def test_a_live_workers_heartbeat_keeps_a_long_batch_its_own():
    short = dataclasses.replace(INBOX, lease=timedelta(seconds=1.2))  # a heartbeat every 0.4 s
    events = [WebhookEventFactory().pk for _ in range(2)]
    stolen: list[int] = []

    def process(ids: list[int], budget: Budget) -> list[int]:
        time.sleep(2)  # longer than the lease: only the heartbeat keeps the claim
        stolen.extend(rows_claim(queue=short, limit=10))
        return []

    rows_drain(
        queue=short,
        claim=lambda now: rows_claim(queue=short, limit=10, now=now),
        process=process,
        time_budget_seconds=5,
    )
    assert stolen == []
    assert set(WebhookEvent.objects.filter(pk__in=events).values_list("status", flat=True)) == {
        Status.PROCESSING
    }


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_only_the_rows_still_claimed_under_its_stamp():
    events = [WebhookEventFactory().pk for _ in range(3)]
    stamp = timezone.now()
    rows_claim(queue=INBOX, limit=10, now=stamp)
    WebhookEvent.objects.filter(pk=events[0]).update(status=Status.PROCESSED)  # finished
    WebhookEvent.objects.filter(pk=events[1]).update(updated_at=stamp + timedelta(seconds=1))  # taken over
    lease = Lease(queue=INBOX, ids=events, stamp=stamp)
    assert lease.renew() == 1
    assert lease.renew() == 1  # under its new stamp
