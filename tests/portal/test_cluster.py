"""A real task through a real django-q2 cluster on the Redis broker: the scale-out path."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django_q.models import Success

from integrations.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_qcluster_with_the_redis_broker():
    db = connection.settings_dict
    name = f"paysage-test-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "Q_CLUSTER_NAME": name,
        "Q_WORKERS": "1",
    }
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    token = uuid.uuid4().hex
    try:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-v0",
                "-c",
                f"from django_q.tasks import async_task; async_task('portal.tasks.cluster_probe', '{token}')",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Success.objects.filter(result=token).exists():
            time.sleep(0.5)
    finally:
        cluster.terminate()
        output = cluster.communicate(timeout=30)[0].decode(errors="replace")
    assert AuditEvent.objects.filter(action="cluster.probe", subject_id=token).exists(), output[-3000:]
    assert Success.objects.filter(result=token, func="portal.tasks.cluster_probe").exists()
