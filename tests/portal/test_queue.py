"""Wake-ups and drains: work is asked for when it is planned, a burst asks for one drain, at most one drain
per queue runs at a time, and a queue given its own cluster gets its tasks and schedules."""

import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from django_q.models import Schedule

from integrations.schedules import schedules_ensure
from payments.services.postings import postings_plan_for_transaction
from portal import queue
from portal.queue import TASKS, drain_exclusive, task_cluster, task_wake
from tests.factories import ConnectionFactory, TransactionFactory

POSTER = "integrations.tasks.postings_post"
DRAIN = "integrations.tasks.webhook_events_drain"

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str | None]]:
    """What was handed to the broker: (task path, cluster)."""
    calls: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        queue, "_send", lambda spec, *args, **kw: calls.append((spec.path, task_cluster(spec)))
    )
    cache.clear()
    return calls


def test_a_burst_of_wake_ups_from_any_process_asks_for_one_drain(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(50):
            task_wake(DRAIN)
    assert sent == [(DRAIN, None)]


def test_a_wake_up_waits_for_the_commit(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_wake(DRAIN)
    assert sent == [] and len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_at_most_one_drain_per_queue_runs_and_it_asks_again_for_what_is_left(sent):
    nested: list[object] = []
    task_wake(DRAIN)  # the wake-up that starts the drain

    def drain() -> str:
        # A second run, started while this one works, does nothing.
        nested.append(drain_exclusive(path=DRAIN, drain=lambda: "second", due=lambda: False, hold_seconds=30))
        task_wake(DRAIN)  # a webhook while it works: no second task
        return "first"

    assert drain_exclusive(path=DRAIN, drain=drain, due=lambda: True, hold_seconds=30) == "first"
    assert nested == [None]
    assert sent == [(DRAIN, None), (DRAIN, None)]  # the start, and one more run for what is still due
    assert drain_exclusive(path=DRAIN, drain=lambda: "next", due=lambda: False, hold_seconds=30) == "next"
    assert len(sent) == 2


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_outlasts_its_hold_keeps_it_while_it_works_and_a_dead_ones_lapses(sent):
    nested: list[object] = []

    def long_drain() -> str:
        time.sleep(4)  # past its 3 s hold: renewed meanwhile by its heartbeat
        nested.append(drain_exclusive(path=DRAIN, drain=lambda: "second", due=lambda: False, hold_seconds=3))
        return "first"

    assert drain_exclusive(path=DRAIN, drain=long_drain, due=lambda: False, hold_seconds=3) == "first"
    assert nested == [None]

    cache.add(f"paysage:drain:{DRAIN}", "a run whose worker was killed", timeout=1)  # renewed by nobody
    assert drain_exclusive(path=DRAIN, drain=lambda: "next", due=lambda: False, hold_seconds=3) is None
    time.sleep(2.5)  # the database cache keeps whole seconds: a 1 s entry may last up to 2
    assert drain_exclusive(path=DRAIN, drain=lambda: "next", due=lambda: False, hold_seconds=3) == "next"


def test_planning_a_posting_asks_for_a_poster_run_on_commit(sent, django_capture_on_commit_callbacks):
    erp = ConnectionFactory(system="sage_300", name="erp")
    paytrace = ConnectionFactory(options={"erp_connection": erp.name})
    txn = TransactionFactory(connection=paytrace, status="approved", customer=None)
    with django_capture_on_commit_callbacks(execute=True):
        (posting,) = postings_plan_for_transaction(transaction=txn)
    assert posting.status == "pending"
    assert sent == [(POSTER, None)]


@override_settings(TASK_QUEUES=["outbox"])
def test_a_queue_with_its_own_cluster_gets_its_tasks_and_their_schedules(sent):
    name = queue.settings.Q_CLUSTER["name"]
    assert task_cluster(TASKS[POSTER]) == f"{name}-outbox"
    assert task_cluster(TASKS[DRAIN]) is None  # inbox not listed: the default cluster
    schedules_ensure()
    clusters = dict(Schedule.objects.values_list("func", "cluster"))
    assert clusters[POSTER] == f"{name}-outbox"
    assert clusters["payments.tasks.paytrace_sync"] is None
