"""A memo of reads for the span of one unit of work (an outbox batch), so the same mapping row or customer
link is read once per batch instead of once per document.

Only reads that nothing in the batch changes are memoized, and only inside `memo_scope()`: outside one,
`memoized` computes every time, as before. A scope lasts one batch of a few seconds, so a mapping finance
edits is seen by the next batch. Exceptions are not memoized (a missing mapping is asked again)."""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_MEMO: ContextVar[dict[Hashable, object] | None] = ContextVar("integrations_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[return-value]


def memo_forget(key: Hashable) -> None:
    memo = _MEMO.get()
    if memo is not None:
        memo.pop(key, None)


def memo_set(key: Hashable, value: object) -> None:
    """Fill the memo ahead (a batch's rows read in one query); outside a scope, nothing is kept."""
    memo = _MEMO.get()
    if memo is not None:
        memo[key] = value
