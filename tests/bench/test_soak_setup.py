"""What the soak sets up before it measures: the Redis database it may take, and the fault rates it asks
the ERP simulator for."""

import os

import pytest

from bench.harness import REDIS_OWNER_KEY, _redis_claim
from bench.soak import fault_rates


class FakeRedis:
    """The few commands `_redis_claim` sends, on a dict."""

    def __init__(self, keys=None):
        self.keys = dict(keys or {})

    def get(self, key):
        value = self.keys.get(key)
        return value.encode() if isinstance(value, str) else value

    def set(self, key, value, nx=False):
        if nx and key in self.keys:
            return None
        self.keys[key] = value
        return True

    def delete(self, key):
        self.keys.pop(key, None)

    def dbsize(self):
        return len(self.keys)

    def flushdb(self):
        self.keys.clear()


def test_an_empty_database_is_taken_and_marked_with_our_pid():
    client = FakeRedis()

    assert _redis_claim(client)
    assert client.keys == {REDIS_OWNER_KEY: str(os.getpid())}


def test_a_database_with_keys_of_someone_else_is_left_alone():
    client = FakeRedis({"django_q:paysage:q": "task"})

    assert not _redis_claim(client)
    assert client.keys == {"django_q:paysage:q": "task"}


def test_a_database_held_by_a_live_soak_is_left_alone():
    client = FakeRedis({REDIS_OWNER_KEY: str(os.getppid()), "django_q:paysage:q": "task"})

    assert not _redis_claim(client)
    assert "django_q:paysage:q" in client.keys


def test_a_database_a_dead_soak_left_is_flushed_and_taken():
    client = FakeRedis({REDIS_OWNER_KEY: "999999999", "django_q:paysage:q": "stale task"})

    assert _redis_claim(client)
    assert client.keys == {REDIS_OWNER_KEY: str(os.getpid())}


@pytest.mark.parametrize("share", [0.0, 0.1, 0.27, 0.6])
def test_the_fault_rates_fault_the_asked_share_of_writes(share):
    rates = fault_rates(share=share)
    untouched = 1.0
    for rate in rates.values():
        untouched *= 1 - rate

    assert 1 - untouched == pytest.approx(share, abs=0.001)
    # Half of it 5xx errors, a fifth hangs that apply nothing, the rest applied but answered too late.
    if share:
        assert rates["error_rate"] / rates["timeout_rate"] == pytest.approx(2.5, rel=0.01)
        assert rates["applied_timeout_rate"] / rates["timeout_rate"] == pytest.approx(1.5, rel=0.01)
