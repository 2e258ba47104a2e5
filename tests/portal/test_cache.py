"""One cache for every process: a database table by default, Redis when REDIS_URL is set. Refund-request
locks (`cache.add`), the inbox wake-up and API throttles hold across web workers and the cluster."""

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.apps import _cache_table_create

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS = "redis://127.0.0.1:6379/14"


def _in_another_connection(fn):
    result = {}

    def run():
        try:
            result["value"] = fn()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def test_without_redis_the_cache_is_a_database_table():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


@pytest.mark.django_db(transaction=True)
def test_a_cache_lock_taken_in_one_connection_holds_in_another():
    key = f"paysage:test-lock:{uuid.uuid4().hex}"
    assert cache.add(key, 1, timeout=60)
    assert _in_another_connection(lambda: cache.add(key, 1, timeout=60)) is False
    cache.delete(key)
    assert _in_another_connection(lambda: cache.add(key, 1, timeout=60)) is True
    cache.delete(key)


@pytest.mark.django_db
def test_the_cache_table_is_made_after_migrate():
    table = settings.CACHES["default"]["LOCATION"]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{table}"')  # rolled back with the test
    _cache_table_create(sender=None, using="default")
    assert table in connection.introspection.table_names()


def _cache_add_in_a_process(key: str, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_CACHE_URL")}
    script = (
        "from django.conf import settings; from django.core.cache import cache; "
        "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'], "
        f"cache.add({key!r}, 1, timeout=60))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_with_redis_a_lock_holds_across_processes():
    key = f"paysage:test-lock:{uuid.uuid4().hex}"
    env = {"REDIS_URL": TEST_REDIS}
    first = _cache_add_in_a_process(key, env)
    assert first == f"django.core.cache.backends.redis.RedisCache {TEST_REDIS} True"
    assert _cache_add_in_a_process(key, env).endswith("False")


def test_redis_cache_url_moves_the_cache_off_the_brokers_database():
    key = f"paysage:test-lock:{uuid.uuid4().hex}"
    other = "redis://127.0.0.1:6379/13"
    env = {"REDIS_URL": TEST_REDIS, "REDIS_CACHE_URL": other}
    assert _cache_add_in_a_process(key, env) == f"django.core.cache.backends.redis.RedisCache {other} True"
