"""Thin wrapper over django-q2: every task declares its timeout, and enqueues happen on commit.

Tasks are registered with `@task(timeout=...)`; the `paysage.E005` system check refuses any timeout
that is not below the broker's `retry`, so django-q2 never redelivers a task that is still running.
Tasks take ids only and reload their rows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class TaskSpec:
    path: str
    timeout: int


TASKS: dict[str, TaskSpec] = {}


def task(*, timeout: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        path = f"{func.__module__}.{func.__qualname__}"
        TASKS[path] = TaskSpec(path=path, timeout=timeout)

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate


def task_enqueue(path: str, *args: Any, group: str | None = None) -> None:
    """Enqueue the registered task at `path` with `args` once the surrounding transaction commits (at once
    outside one). Named by path, so a service can start the task that calls it back without importing it."""
    from django_q.tasks import async_task

    spec = TASKS[path]

    def send() -> None:
        async_task(spec.path, *args, timeout=spec.timeout, group=group or spec.path.rsplit(".", 1)[-1])

    transaction.on_commit(send)


def task_timeouts_invalid() -> list[TaskSpec]:
    retry = settings.Q_CLUSTER.get("retry") or 0
    return [spec for spec in TASKS.values() if not 0 < spec.timeout < retry]
