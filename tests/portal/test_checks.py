import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.test import override_settings

from portal.checks import django_q_timeouts_check, task_timeouts_check
from portal.queue import TASKS, TaskSpec

ROOT = Path(__file__).resolve().parents[2]


def test_default_cluster_settings_pass():
    assert django_q_timeouts_check(None) == []
    assert task_timeouts_check(None) == []


def test_timeout_not_below_retry_is_an_error():
    with override_settings(Q_CLUSTER={"timeout": 300, "retry": 300, "max_attempts": 3}):
        assert [e.id for e in django_q_timeouts_check(None)] == ["paysage.E001"]


def test_unbounded_attempts_and_acked_failures_are_errors():
    conf = {"timeout": 60, "retry": 180, "max_attempts": 0, "ack_failures": True}
    with override_settings(Q_CLUSTER=conf):
        assert {e.id for e in django_q_timeouts_check(None)} == {"paysage.E003", "paysage.E004"}


def test_a_task_declared_with_a_timeout_above_retry_is_an_error():
    TASKS["tests.slow"] = TaskSpec(path="tests.slow", timeout=10_000)
    try:
        assert [e.id for e in task_timeouts_check(None)] == ["paysage.E005"]
    finally:
        del TASKS["tests.slow"]


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_mode_passes_check_deploy_without_warnings():
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "PAYSAGE_ENV": "prod",
            "SANDBOX": "false",
            "SECRET_KEY": "x7#k2!" + "q" * 20 + "Z9$mP4@wL1^vB8&nC3*rT6(yH5)jF0",
            "ALLOWED_HOSTS": "paysage.example.com",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "PAYTRACE_WEBHOOK_SECRET": "wh-" + "Tq8fZ2xLr5Vn1Kc7Hs3Mb9Pd4Gw6Jy0A",
        },
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = _manage(["check"], {"PAYSAGE_ENV": "prod", "ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
