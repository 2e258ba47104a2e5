"""The review queues finance works through, each declared once by the app that owns its rows.

A queue names its model, its title as finance says it, and the lookups that select the items waiting for a
decision. Roles read the declarations (a Finance reviewer may decide every queue's items), and so can any
screen that lists the queues; adding a queue is one `review_queue_register` call in its app's `ready()`."""

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class ReviewQueue:
    model: str  # "<app_label>.<model_name>"
    title: str
    waiting: dict[str, Any] = field(default_factory=dict)

    @property
    def app_label(self) -> str:
        return self.model.split(".", 1)[0]

    @property
    def model_name(self) -> str:
        return self.model.split(".", 1)[1]

    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)

    def items_waiting(self) -> QuerySet:
        return self.model_class().objects.filter(**self.waiting)


_QUEUES: dict[str, ReviewQueue] = {}


def review_queue_register(queue: ReviewQueue) -> None:
    registered = _QUEUES.setdefault(queue.model, queue)
    if registered != queue:
        raise ImproperlyConfigured(f"{queue.model} is already the review queue {registered.title!r}")


def review_queues() -> tuple[ReviewQueue, ...]:
    return tuple(_QUEUES.values())
