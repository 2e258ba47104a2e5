"""The review queues finance works through, each declared once by the app that owns its rows.

A queue names its model, its title as finance says it, and the lookups that select the items waiting for a
decision. Roles read the declarations (a Finance reviewer may decide every queue's items), and so can any
screen that lists the queues (the dashboard counts each and links to its list); adding a queue is one
`review_queue_register` call in its app's `ready()`."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class ReviewQueue:
    model: str  # "<app_label>.<model_name>"
    title: str
    waiting: dict[str, Any] = field(default_factory=dict)
    # The admin list's filters that show the queue, when `waiting` is not one the admin accepts (a lookup
    # across a relation the list does not filter on): the list then shows these, a superset of the queue.
    list_filters: dict[str, str] | None = None

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

    def list_query(self) -> str:
        """The admin changelist's query string that shows the queue's items."""
        if self.list_filters is not None:
            return urlencode(self.list_filters)
        return urlencode({_list_lookup(lookup): _list_value(value) for lookup, value in self.waiting.items()})


def _list_lookup(lookup: str) -> str:
    # A bare field is the admin's own list filter parameter, `<field>__exact`.
    return lookup if "__" in lookup else f"{lookup}__exact"


def _list_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # as the admin's own boolean and isnull filters write them
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(sorted(str(item) for item in value))  # the admin splits `__in` values on commas
    return str(value)


_QUEUES: dict[str, ReviewQueue] = {}


def review_queue_register(queue: ReviewQueue) -> None:
    registered = _QUEUES.setdefault(queue.model, queue)
    if registered != queue:
        raise ImproperlyConfigured(f"{queue.model} is already the review queue {registered.title!r}")


def review_queues() -> tuple[ReviewQueue, ...]:
    return tuple(_QUEUES.values())
