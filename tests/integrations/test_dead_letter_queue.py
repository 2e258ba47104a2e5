"""The dead-letter queues in the admin: what the ERP said, where to fix it, replay / cancel / reprocess,
each decision audited; and the audit trail filtered by actor and date."""

from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditEvent, ErpPosting, ErpPostingAttempt, WebhookEvent
from portal.roles import AUDITOR, FINANCE_REVIEWER
from tests import factories as f
from tests.staff import staff_user

pytestmark = pytest.mark.django_db
POSTINGS = reverse("admin:integrations_erpposting_changelist")
EVENTS = reverse("admin:integrations_webhookevent_changelist")


def act(client, url, action, rows, **extra):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [row.pk for row in rows], **extra}
    return client.post(url, data)


@pytest.fixture
def reviewer(client):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    return client


@pytest.fixture
def dead_letter():
    posting = f.ErpPostingFactory(
        status="dead",
        attempt_count=1,
        max_attempts=8,
        last_error_code="MappingMissing",
        last_error="No payment method mapping for sage_300 / card / brand 'VISA'.",
    )
    ErpPostingAttempt.objects.create(
        posting=posting,
        number=1,
        started_at=timezone.now(),
        outcome="permanent",
        error_code="MappingMissing",
        response={"calls": [{"status": 422, "body": {"error": "unknown <payment> code"}}]},
    )
    return posting


def test_dead_letter_page_shows_the_erps_message_and_links_to_the_mapping_tables(reviewer, dead_letter):
    page = reviewer.get(
        reverse("admin:integrations_erpposting_change", args=[dead_letter.pk])
    ).content.decode()
    assert "No payment method mapping for sage_300 / card / brand &#x27;VISA&#x27;." in page
    assert "unknown &lt;payment&gt; code" in page  # the last response, escaped
    assert reverse("admin:integrations_paymentmethodmapping_changelist") + "?erp__exact=sage_300" in page
    assert reverse("admin:integrations_glaccountrule_changelist") + "?erp__exact=sage_300" in page


def test_replay_asks_for_confirmation_and_a_reason_then_audits(reviewer, dead_letter):
    posted = f.ErpPostingFactory(status="posted", erp_document_number="PY9")
    confirm = act(reviewer, POSTINGS, "replay_dead_letters", [dead_letter, posted])
    assert confirm.status_code == 200 and b"Reason (kept in the audit trail)" in confirm.content

    act(reviewer, POSTINGS, "replay_dead_letters", [dead_letter], confirmed="yes", reason=" ")
    dead_letter.refresh_from_db()
    assert dead_letter.status == "dead"  # no reason, no replay

    done = act(
        reviewer, POSTINGS, "replay_dead_letters", [dead_letter, posted], confirmed="yes", reason="fixed"
    )
    assert done.status_code == 302
    dead_letter.refresh_from_db()
    posted.refresh_from_db()
    assert dead_letter.status == "pending" and dead_letter.max_attempts == 1 + 8
    assert posted.status == "posted"
    event = AuditEvent.objects.get(action="posting.replay")
    assert (event.actor.username, event.reason, event.subject_id) == (
        "finance-reviewer",
        "fixed",
        str(dead_letter.pk),
    )


def test_cancel_leaves_postings_a_worker_holds(reviewer, dead_letter):
    busy = f.ErpPostingFactory(status="in_progress")
    act(reviewer, POSTINGS, "cancel_postings", [dead_letter, busy], confirmed="yes", reason="duplicate")
    assert ErpPosting.objects.get(pk=dead_letter.pk).status == "cancelled"
    assert ErpPosting.objects.get(pk=busy.pk).status == "in_progress"
    assert AuditEvent.objects.filter(action="posting.cancel", reason="duplicate").count() == 1


def test_reprocess_gives_a_dead_event_a_fresh_budget_and_keeps_its_history(reviewer):
    dead = f.WebhookEventFactory(status="dead", attempt_count=8, last_error="EventNotFound: no 42")
    failed = f.WebhookEventFactory(
        status="failed", attempt_count=3, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    processed = f.WebhookEventFactory(status="processed")
    act(
        reviewer,
        EVENTS,
        "reprocess_events",
        [dead, failed, processed],
        confirmed="yes",
        reason="PayTrace fixed",
    )
    dead.refresh_from_db()
    failed.refresh_from_db()
    assert (dead.status, dead.attempt_count) == ("pending", 0)
    assert (failed.status, failed.attempt_count, failed.next_attempt_at) == ("pending", 3, None)
    assert WebhookEvent.objects.get(pk=processed.pk).status == "processed"
    audit = AuditEvent.objects.get(action="webhook_event.requeue", subject_id=str(dead.pk))
    assert audit.data == {"status": "dead", "attempt_count": 8, "last_error": "EventNotFound: no 42"}


def test_auditor_sees_the_queue_but_cannot_act_on_it(client, dead_letter):
    client.force_login(staff_user(role=AUDITOR))
    page = client.get(POSTINGS)
    assert page.status_code == 200
    assert "replay_dead_letters" not in page.content.decode()
    act(client, POSTINGS, "replay_dead_letters", [dead_letter], confirmed="yes", reason="sneaky")
    dead_letter.refresh_from_db()
    assert dead_letter.status == "dead"
    assert not AuditEvent.objects.exists()


def test_audit_trail_filters_by_actor_and_date(client):
    client.force_login(staff_user(role=AUDITOR))
    alice, bob = f.UserFactory(username="alice"), f.UserFactory(username="bob")
    mine = f.AuditEventFactory(actor=alice, reason="alice-decided")
    f.AuditEventFactory(actor=bob, reason="bob-decided")
    old = f.AuditEventFactory(actor=alice, reason="alice-long-ago")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    url = reverse("admin:integrations_auditevent_changelist")

    by_actor = client.get(url, {"actor__id__exact": alice.pk}).content.decode()
    assert "alice-decided" in by_actor and "alice-long-ago" in by_actor and "bob-decided" not in by_actor

    week_ago = timezone.now() - timedelta(days=7)
    recent = client.get(url, {"created_at__gte": week_ago.isoformat()}).content.decode()
    assert "alice-decided" in recent and "alice-long-ago" not in recent
    assert mine.reason in client.get(url, {"q": "alice"}).content.decode()
