"""Production-like environments (qa, prod) refuse weak secrets at start and under `check --deploy`, run
without debug pages or simulators, and error reports never show a URL's password."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

from portal.deploy_secrets import DEV_FIELD_ENCRYPTION_KEY, DEV_SECRET_KEY, DEV_WEBHOOK_SECRET
from portal.error_reports import CredentialUrlReporterFilter

ROOT = Path(__file__).resolve().parents[2]
STRONG = {
    "SECRET_KEY": "x7#k2!" + "q" * 20 + "Z9$mP4@wL1^vB8&nC3*rT6(yH5)jF0",
    "PAYTRACE_WEBHOOK_SECRET": "wh-" + "Tq8fZ2xLr5Vn1Kc7Hs3Mb9Pd4Gw6Jy0A",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}
# Built here, away from the line the error report quotes with its source context.
PASSWORD = "-".join(("hunter2", "not", "shown"))
REDIS_WITH_PASSWORD = f"redis://:{PASSWORD}@redis.internal:6379/0"
WEAK = [
    ("SECRET_KEY", "", "is empty"),
    ("SECRET_KEY", "short-but-random-Zx81", "is shorter than 32 characters"),
    ("SECRET_KEY", DEV_SECRET_KEY, "is the development default"),
    ("PAYTRACE_WEBHOOK_SECRET", "", "is empty"),
    ("PAYTRACE_WEBHOOK_SECRET", "ci-webhook-secret", "is shorter than 32 characters"),
    ("PAYTRACE_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET, "is the development default"),
    ("FIELD_ENCRYPTION_KEY", "", "is empty"),
    ("FIELD_ENCRYPTION_KEY", "c2hvcnQ=", "is shorter than 32 characters"),
    ("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY, "is the development default"),
    ("FIELD_ENCRYPTION_KEY", "x" * 44, "is not a Fernet key"),
]


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "DEBUG", "SANDBOX", *STRONG)
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def _settings_of(env: dict[str, str]) -> dict:
    script = textwrap.dedent(
        """
        import json
        from django.conf import settings
        print(json.dumps({
            name: getattr(settings, name, None)
            for name in ("DEBUG", "SANDBOX", "INSTALLED_APPS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
                         "ALLOWED_HOSTS", "EMAIL_BACKEND", "API_DOCS_PUBLIC")
        }))
        """
    )
    result = _manage(["shell", "--no-imports", "-c", script], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("environment", ["prod", "qa"])
def test_production_like_environments_pass_check_deploy_with_strong_secrets(environment):
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {"PAYSAGE_ENV": environment, "ALLOWED_HOSTS": "paysage.example.com", **STRONG},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("setting", "value", "problem"), WEAK, ids=[f"{s}-{p}" for s, _, p in WEAK])
def test_prod_refuses_to_start_with_a_weak_secret_naming_it(setting, value, problem):
    result = _manage(
        ["check", "--deploy"],
        {"PAYSAGE_ENV": "prod", "ALLOWED_HOSTS": "paysage.example.com", **STRONG, setting: value},
    )
    assert result.returncode != 0
    # One message naming the setting, not a traceback through settings loading.
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("PAYSAGE_ENV=prod refuses to start: ")
    assert f"{setting} {problem}" in lines[0]


def test_qa_refuses_to_start_with_the_public_dev_secrets():
    result = _manage(
        ["runserver", "--noreload"],
        {
            "PAYSAGE_ENV": "qa",
            "SECRET_KEY": DEV_SECRET_KEY,
            "PAYTRACE_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
            "FIELD_ENCRYPTION_KEY": DEV_FIELD_ENCRYPTION_KEY,
        },
    )
    assert result.returncode != 0
    assert "PAYSAGE_ENV=qa refuses to start" in result.stderr
    for setting in STRONG:
        assert setting in result.stderr


def test_a_rotation_key_list_is_checked_key_by_key():
    new = Fernet.generate_key().decode()
    result = _manage(
        ["check"],
        {"PAYSAGE_ENV": "prod", **STRONG, "FIELD_ENCRYPTION_KEY": f"{new},{DEV_FIELD_ENCRYPTION_KEY}"},
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY (key 2) is the development default" in result.stderr
    old = Fernet.generate_key().decode()
    result = _manage(["check"], {"PAYSAGE_ENV": "prod", **STRONG, "FIELD_ENCRYPTION_KEY": f"{new},{old}"})
    assert result.returncode == 0, result.stderr


def test_check_deploy_flags_the_dev_secrets_in_any_environment():
    result = _manage(["check", "--deploy"], {"PAYSAGE_ENV": "dev"})
    assert result.returncode != 0
    for setting in STRONG:
        assert f"(paysage.E020) {setting} is the development default" in result.stderr


def test_qa_runs_like_production():
    qa = _settings_of({"PAYSAGE_ENV": "qa", **STRONG})
    prod = _settings_of({"PAYSAGE_ENV": "prod", **STRONG})
    assert qa["DEBUG"] is False
    assert qa["SANDBOX"] is False
    assert not any(app.startswith("simulators") for app in qa["INSTALLED_APPS"])
    assert qa["API_DOCS_PUBLIC"] is False
    assert qa["ALLOWED_HOSTS"] == []
    for name in (
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "EMAIL_BACKEND",
        "INSTALLED_APPS",
    ):
        assert qa[name] == prod[name], name
    assert qa["SECURE_SSL_REDIRECT"] is True


def test_qa_mounts_the_sandbox_only_when_asked():
    qa = _settings_of({"PAYSAGE_ENV": "qa", **STRONG, "SANDBOX": "true"})
    assert qa["SANDBOX"] is True
    assert "simulators" in qa["INSTALLED_APPS"]
    assert qa["DEBUG"] is False


def _error_report(*, html: bool) -> str:
    request = RequestFactory().get("/admin/")
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        reporter = ExceptionReporter(request, type(exc), exc, exc.__traceback__)
    return reporter.get_traceback_html() if html else reporter.get_traceback_text()


@override_settings(
    DEBUG=True,
    REDIS_URL=REDIS_WITH_PASSWORD,
    REDIS_CACHE_URL=f"rediss://cache:{PASSWORD}@cache.internal:6380/1",
    Q_CLUSTER={"name": "paysage", "timeout": 120, "retry": 360, "redis": REDIS_WITH_PASSWORD},
    ALERT_WEBHOOK_URL=f"https://hooks.example.com/services/T000/B000/{PASSWORD}",
    SOME_DSN=f"postgres://paysage:{PASSWORD}@db.internal/paysage",
)
@pytest.mark.parametrize("html", [True, False], ids=["html", "text"])
def test_the_debug_error_page_shows_no_password_of_a_url_setting(html):
    report = _error_report(html=html)
    assert PASSWORD not in report
    assert "REDIS_URL" in report  # the setting is listed, its value hidden


def test_the_project_filter_is_the_one_django_uses():
    assert isinstance(get_default_exception_reporter_filter(), CredentialUrlReporterFilter)
    cleanse = CredentialUrlReporterFilter().cleanse_setting
    assert cleanse("Q_CLUSTER", {"redis": REDIS_WITH_PASSWORD, "workers": 2})["workers"] == 2
    assert cleanse("CACHES", {"default": {"LOCATION": "paysage_cache"}}) == {
        "default": {"LOCATION": "paysage_cache"}
    }
