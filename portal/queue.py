"""Thin wrapper over django-q2: every task declares its timeout and queue, and enqueues happen on commit.

Tasks are registered with `@task(timeout=..., queue=...)`; the `paysage.E005` system check refuses any
timeout that is not below the broker's `retry`, so django-q2 never redelivers a task that is still running.
Tasks take ids only and reload their rows.

Queues: a task names one (`inbox`, `outbox`, or the default). One cluster serves them all unless a queue is
listed in `TASK_QUEUES`: then its tasks go to a broker list of their own (`<cluster name>-<queue>`), served
by a cluster started with `Q_QUEUE=<queue>`, so a burst of webhook drains never stands in front of posting
or the PayTrace sync.

Drains (tasks that work a table until nothing is due) are asked for with `task_wake`, coalesced across
processes through the shared cache, and run through `drain_exclusive`, so at most one drain per queue is in
flight and a burst of webhooks asks for one drain, not one per event.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction

from portal.heartbeat import Heartbeat

T = TypeVar("T")
QUEUES = ("inbox", "outbox")  # besides the default one
# A wake-up asked for and not yet started is asked for again after this long (its task may have been lost).
WAKE_SECONDS = 10


@dataclass(frozen=True)
class TaskSpec:
    path: str
    timeout: int
    queue: str = ""


TASKS: dict[str, TaskSpec] = {}


def task(*, timeout: int, queue: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if queue and queue not in QUEUES:
        raise ValueError(f"unknown task queue {queue!r}: one of {QUEUES} or the default")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        path = f"{func.__module__}.{func.__qualname__}"
        TASKS[path] = TaskSpec(path=path, timeout=timeout, queue=queue)

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate


def task_cluster(spec: TaskSpec) -> str | None:
    """The django-q2 cluster (broker list) that runs `spec`: None for the default cluster."""
    if spec.queue and spec.queue in settings.TASK_QUEUES:
        return f"{settings.Q_CLUSTER['name']}-{spec.queue}"
    return None


def _send(spec: TaskSpec, *args: Any, group: str | None = None) -> None:
    from django_q.tasks import async_task

    options: dict[str, Any] = {"timeout": spec.timeout, "group": group or spec.path.rsplit(".", 1)[-1]}
    cluster = task_cluster(spec)
    if cluster:
        options["cluster"] = cluster
    async_task(spec.path, *args, **options)


def task_enqueue(path: str, *args: Any, group: str | None = None) -> None:
    """Enqueue the registered task at `path` with `args` once the surrounding transaction commits (at once
    outside one). Named by path, so a service can start the task that calls it back without importing it."""
    spec = TASKS[path]
    transaction.on_commit(lambda: _send(spec, *args, group=group))


def _wake_key(path: str) -> str:
    return f"paysage:wake:{path}"


def _drain_key(path: str) -> str:
    return f"paysage:drain:{path}"


def task_wake(path: str) -> None:
    """Ask for a run of the drain task at `path` once this transaction commits. While a run is asked for
    and not yet started, asking again (from any process) sends nothing."""
    spec = TASKS[path]

    def send() -> None:
        if cache.add(_wake_key(path), 1, timeout=WAKE_SECONDS):
            _send(spec)

    transaction.on_commit(send)


def drain_exclusive(
    *, path: str, drain: Callable[[], T], due: Callable[[], bool], hold_seconds: int
) -> T | None:
    """Run `drain` for the task at `path` unless another run of it is in flight (then None). Wake-ups made
    while it runs send nothing more than the one that started it; when it ends it clears the wake-up and
    asks for another run if work is still due (its budget ran out, or rows came after its last claim), so
    no wake-up is lost. The run's hold on the drain lasts `hold_seconds` and is renewed every third of that
    while it works, so a run whose worker died (SIGKILL) blocks the next one for `hold_seconds` at most."""
    token = uuid.uuid4().hex
    if not cache.add(_drain_key(path), token, timeout=hold_seconds):
        return None
    try:
        with _drain_hold(key=_drain_key(path), token=token, seconds=hold_seconds):
            return drain()
    finally:
        if cache.get(_drain_key(path)) == token:
            cache.delete(_drain_key(path))
        cache.delete(_wake_key(path))
        if due():
            task_wake(path)


def _drain_hold(*, key: str, token: str, seconds: int) -> Heartbeat:
    """Renews a drain's hold every third of `seconds` while the drain works, as long as it is still ours
    (lost, to expiry or to another run: never renew someone else's)."""

    def renew() -> bool:
        try:
            return cache.get(key) == token and cache.touch(key, seconds)
        except DatabaseError:
            raise  # the database cache's connection: dropped, tried again at the next beat
        except Exception:  # noqa: BLE001 - a busy Redis: the hold may lapse; the claims still guard the rows
            return True

    return Heartbeat(interval=seconds / 3, beat=renew, name="drain-hold")


def task_timeouts_invalid() -> list[TaskSpec]:
    retry = settings.Q_CLUSTER.get("retry") or 0
    return [spec for spec in TASKS.values() if not 0 < spec.timeout < retry]
