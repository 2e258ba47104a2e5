"""A real task through a real django-q2 cluster on the Redis broker: the scale-out path, and a queue served
by a cluster of its own."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django_q.models import Success

from integrations.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "Q_CLUSTER_NAME": name,
        "Q_WORKERS": "1",
        **extra,
    }


@contextmanager
def _cluster(env: dict[str, str]) -> Iterator[list[str]]:
    """A qcluster for the block; yields a list that holds its output once it has stopped."""
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[str] = []
    try:
        yield output
    finally:
        cluster.terminate()
        output.append(cluster.communicate(timeout=30)[0].decode(errors="replace")[-3000:])


def _shell(code: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code], cwd=ROOT, env=env, check=True, timeout=60
    )


def _wait_for(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done():
        time.sleep(0.5)


@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_qcluster_with_the_redis_broker():
    env = _env(f"paysage-test-{uuid.uuid4().hex[:8]}")
    token = uuid.uuid4().hex
    with _cluster(env) as output:
        _shell(
            f"from django_q.tasks import async_task; async_task('portal.tasks.cluster_probe', '{token}')", env
        )
        _wait_for(lambda: Success.objects.filter(result=token).exists())
    assert AuditEvent.objects.filter(action="cluster.probe", subject_id=token).exists(), output
    assert Success.objects.filter(result=token, func="portal.tasks.cluster_probe").exists()


@pytest.mark.django_db(transaction=True)
def test_a_queue_listed_in_task_queues_is_served_by_its_own_cluster():
    name = f"paysage-test-{uuid.uuid4().hex[:8]}"
    producer = _env(name, TASK_QUEUES="outbox")
    with _cluster({**producer, "Q_QUEUE": "outbox"}) as output:  # no default cluster runs at all
        _shell(
            "from portal.queue import task_enqueue; task_enqueue('integrations.tasks.postings_post')",
            producer,
        )
        _wait_for(lambda: Success.objects.filter(func="integrations.tasks.postings_post").exists())
    assert Success.objects.filter(
        func="integrations.tasks.postings_post", cluster=f"{name}-outbox"
    ).exists(), output
