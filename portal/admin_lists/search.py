"""A list's search: the term is recognised (`recognise`) and each kind it may be is looked up in the columns
named for that kind, each through an index. Columns of the list's own table are OR'd in one branch (a
bitmap OR of their indexes); each column across a relation is a branch of its own, and the branches are
united into a set of primary keys, so no join multiplies the rows and no DISTINCT is needed."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from portal.admin_lists.recognise import Kind, SearchTerm, search_term_classify

_DEFAULT_LOOKUP = {
    Kind.LAST_FOUR: "exact",
    Kind.AMOUNT: "exact",
    Kind.REFERENCE: "in",
    Kind.EMAIL: "iexact",  # served by an index on UPPER(email), as Django writes iexact
    Kind.NAME: "icontains",  # served by a trigram index on UPPER(name) on PostgreSQL
}
_LOOKUPS = frozenset({"exact", "iexact", "in", "icontains"})

_KIND_WORDS = {
    Kind.REFERENCE: "id or number",
    Kind.LAST_FOUR: "last four",
    Kind.AMOUNT: "amount",
    Kind.EMAIL: "email",
    Kind.NAME: "name",
}


@dataclass(frozen=True)
class ListSearch:
    """The columns each kind of term is looked up in, as ORM paths (`customer__name`); a path may end in
    its lookup (`email_normalized__exact`) where the kind's default does not fit the column's index."""

    reference: tuple[str, ...] = ()
    last_four: tuple[str, ...] = ()
    amount: tuple[str, ...] = ()
    email: tuple[str, ...] = ()
    name: tuple[str, ...] = ()

    def paths(self, kind: Kind) -> tuple[str, ...]:
        return getattr(self, kind.value)

    def field_paths(self) -> list[str]:
        return [path for kind in Kind for path in self.paths(kind)]

    def help_text(self) -> str:
        kinds = [words for kind, words in _KIND_WORDS.items() if self.paths(kind)]
        return "Search by " + ", ".join(kinds[:-1]) + (" or " if len(kinds) > 1 else "") + kinds[-1] + "."


def _value(term: SearchTerm, kind: Kind) -> Any:
    if kind is Kind.AMOUNT:
        return term.amount
    if kind is Kind.REFERENCE:
        return term.references()
    return term.text


def _condition(path: str, kind: Kind, term: SearchTerm) -> tuple[str, Q]:
    """The column's path without its lookup, and the condition on it."""
    head, _, last = path.rpartition("__")
    if head and last in _LOOKUPS:
        path, lookup = head, last
    else:
        lookup = _DEFAULT_LOOKUP[kind]
    value = _value(term, kind)
    if lookup != "in" and isinstance(value, list):
        value = term.text
    return path, Q(**{f"{path}__{lookup}": value})


def list_search_apply(*, queryset: QuerySet, search: ListSearch, term: str) -> QuerySet:
    found = search_term_classify(term=term)
    if not found.text:
        return queryset
    model = queryset.model
    local = Q()
    branches: list[QuerySet] = []
    for kind in sorted(found.kinds):
        for path in search.paths(kind):
            column, condition = _condition(path, kind, found)
            if "__" in column:
                branches.append(model._default_manager.filter(condition).values("pk"))
            else:
                local |= condition
    if not local and not branches:
        return queryset.none()
    if not branches:
        return queryset.filter(local)
    if local:
        branches.insert(0, model._default_manager.filter(local).values("pk"))
    matching = branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0]
    return queryset.filter(pk__in=matching)
