"""What each outbox document type means to the domain, registered by the apps that own the rows.

The outbox moves documents and knows nothing of payments or customers: the app that plans a document type
registers, from its `AppConfig.ready()`, the builder that turns a posting into the connector's typed
document, and the effects that follow a posting or a dead letter (an order moving on, an ERP number
landing on a credit memo). A system check refuses a document type that nobody builds."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from integrations.models import ErpPosting
from integrations.sage.base import ErpDocument
from integrations.sage.connector import ErpConnector

DocumentBuild = Callable[..., Any]  # (*, posting: ErpPosting, connector: ErpConnector) -> typed document
PostedEffect = Callable[..., None]  # (*, posting: ErpPosting, document: ErpDocument) -> None
DeadEffect = Callable[..., None]  # (*, posting: ErpPosting) -> None
# (*, posting: ErpPosting, connector: ErpConnector, error: ErpError) -> bool: True when the owner changed
# what the document says (e.g. an application the ERP no longer has room for), so it is sent again.
RefusalMend = Callable[..., bool]


class PostingNotNeeded(Exception):
    """The mapping says this posting sends nothing to this ERP: it ends cancelled, not dead."""


@dataclass
class _DocumentKind:
    build: DocumentBuild | None = None
    on_posted: list[PostedEffect] = field(default_factory=list)
    mend: RefusalMend | None = None


_KINDS: dict[str, _DocumentKind] = {}
_DEAD_EFFECTS: list[DeadEffect] = []
# (*, postings: list[ErpPosting]) -> None: reads ahead, in a few queries, what building each of a batch of
# postings of one type would read one by one (into `integrations.memo`, whose scope is the batch).
BatchPrepare = Callable[..., None]
_PREPARES: dict[str, BatchPrepare] = {}


def _kind(document_type: str) -> _DocumentKind:
    if document_type not in ErpPosting.DocumentType.values:
        raise ImproperlyConfigured(f"{document_type!r} is not an outbox document type")
    return _KINDS.setdefault(document_type, _DocumentKind())


def document_builder_register(*, document_type: str, build: DocumentBuild) -> None:
    kind = _kind(document_type)
    if kind.build is not None and kind.build is not build:
        raise ImproperlyConfigured(f"{document_type} already has a builder: {kind.build.__qualname__}")
    kind.build = build


def posting_effect_register(*, document_type: str, effect: PostedEffect) -> None:
    effects = _kind(document_type).on_posted
    if effect not in effects:
        effects.append(effect)


def posting_dead_effect_register(*, effect: DeadEffect) -> None:
    if effect not in _DEAD_EFFECTS:
        _DEAD_EFFECTS.append(effect)


def posting_refusal_mend_register(*, document_type: str, mend: RefusalMend) -> None:
    kind = _kind(document_type)
    if kind.mend is not None and kind.mend is not mend:
        raise ImproperlyConfigured(f"{document_type} already has a refusal mender: {kind.mend.__qualname__}")
    kind.mend = mend


def posting_refusal_mend(*, posting: ErpPosting, connector: ErpConnector, error: Exception) -> bool:
    """Before a refusal makes a dead letter: may its owner mend the document so that it is sent again?"""
    mend = _kind(posting.document_type).mend
    return bool(mend and mend(posting=posting, connector=connector, error=error))


def documents_prepare_register(*, document_type: str, prepare: BatchPrepare) -> None:
    _kind(document_type)
    _PREPARES[document_type] = prepare


def documents_prepare(*, document_type: str, postings: list[ErpPosting]) -> None:
    prepare = _PREPARES.get(document_type)
    if prepare is not None and postings:
        prepare(postings=postings)


def document_types_unbuilt() -> list[str]:
    return [value for value in ErpPosting.DocumentType.values if _kind(value).build is None]


def document_build(*, posting: ErpPosting, connector: ErpConnector) -> Any:
    build = _kind(posting.document_type).build
    if build is None:
        raise ImproperlyConfigured(f"no app builds {posting.document_type} documents")
    return build(posting=posting, connector=connector)


def posting_effects_apply(*, posting: ErpPosting, document: ErpDocument) -> None:
    for effect in _kind(posting.document_type).on_posted:
        effect(posting=posting, document=document)


def posting_dead_effects_apply(*, posting: ErpPosting) -> None:
    for effect in _DEAD_EFFECTS:
        effect(posting=posting)
