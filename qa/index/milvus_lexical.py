"""BM25 inside Milvus (``--store 'milvus://FILE.db?bm25=milvus'``): the paragraphs' text in a
collection beside the vectors (embeddings/stores/milvus_text.py), searched with Milvus'
full-text search under the same filter expression and generation as the dense search.

Opt-in, and measured in docs/scale-out.md: Byline's own BM25 (qa/index/lexical.py) stays
the default, and stays in the index folder either way, because sentence highlights and story
context read its statistics. What moves into Milvus is the paragraph BM25 list that the
``bm25`` mode returns and that ``hybrid`` fuses with the dense one; the fusion stays Byline's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from embeddings.stores.base import LIVE, StoreSpec, Where
from qa.errors import IndexStateError
from qa.index.lexical import lexical_text
from qa.ingest.windows import content_hash
from qa.records import Paragraph

MILVUS = "milvus"
BYLINE = "byline"


_ARTICLE_FIELD = 1_000  # longer article ids are stored hashed (a VARCHAR has a fixed maximum)


def article_field(article_id: str) -> str:
    """What the store's ``article_id`` field holds for an article id (filters compare it)."""
    if len(article_id) <= _ARTICLE_FIELD:
        return article_id
    return "sha256:" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()


def text_collection(collection: str) -> str:
    """The text collection that goes with a vector collection."""
    return f"{collection}_text"


def analyzer_params() -> dict[str, Any]:
    """Milvus' analyzer for the text: its ``standard`` tokenizer, lower case, and the same
    English stop words as Byline's BM25. Milvus Lite 3.2 has no stemmer (its analyzers are
    ``standard`` and Jieba, and it ignores filters other than ``stop``), so none is asked
    for: a Milvus server would stem and Milvus Lite would not, and the two would rank
    differently for the same index."""
    from bm25s.stopwords import STOPWORDS_EN

    return {
        "tokenizer": "standard",
        "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS_EN)}],
    }


def paragraph_uids(paragraphs: Sequence[Paragraph]) -> list[str]:
    """One id per paragraph, the same in every build while its searched text (headline and
    paragraph), its article and its place there stay the same; repeats are numbered."""
    seen: Counter[tuple[str, str, str]] = Counter()
    uids = []
    for paragraph in paragraphs:
        identity = (
            lexical_text(paragraph.title, paragraph.text),
            paragraph.article_id,
            str(paragraph.index),
        )
        seen[identity] += 1
        uids.append(content_hash(*identity, str(seen[identity]))[:32])
    return uids


def lexical_of(recorded: dict[str, Any] | None) -> str:
    """Who answers BM25 for an index whose manifest records ``recorded`` as its store."""
    return str((recorded or {}).get("lexical", BYLINE))


@dataclass(frozen=True)
class TextOutcome:
    written: int
    kept: int
    dropped: int


def write_text_version(
    spec: StoreSpec,
    collection: str,
    paragraphs: Sequence[Paragraph],
    generation: int,
    current: bool,
    full: bool = False,
) -> TextOutcome:
    """Write generation ``generation + 1`` of the text collection, as qa/index/milvus_build.py
    does for the vectors: kept paragraphs keep their rows (and text), new or changed ones get
    rows with ``born = generation + 1``, gone ones get ``died = generation + 1``.

    ``current``: the current version's BM25 runs in this collection, so its rows of
    ``generation`` are read while this build runs; otherwise nothing reads the collection
    and whatever it holds is stale. ``full``: every row is written again (the old ones die,
    so readers of ``generation`` keep theirs)."""
    from embeddings.stores.milvus_text import MilvusTextStore, fit_text

    store = MilvusTextStore.create_or_open(spec, collection, analyzer_params())
    if current and generation:
        store.recover(generation)
        live = store.live_rows(generation)
    else:
        store.clear()
        live = {}
    uids = paragraph_uids(paragraphs)
    kept = set() if full else set(uids) & set(live)
    born = generation + 1
    rows = [
        {
            "pk": f"{uid}:{born}",
            "uid": uid,
            "text": fit_text(lexical_text(paragraph.title, paragraph.text)),
            "article_id": article_field(paragraph.article_id),
            "published": paragraph.published or "",
            "born": born,
            "died": LIVE,
        }
        for uid, paragraph in zip(uids, paragraphs, strict=True)
        if uid not in kept
    ]
    store.insert(rows)
    dropped = [pk for uid, pk in live.items() if uid not in kept]
    store.mark_died(dropped, born)
    store.flush()
    return TextOutcome(written=len(rows), kept=len(kept), dropped=len(dropped))


@dataclass(frozen=True)
class RemoteText:
    """A version's paragraphs as the text collection serves them: uid -> paragraph row."""

    store: Any  # embeddings.stores.milvus_text.MilvusTextStore (imported lazily)
    row_of: dict[str, int]


def open_text(
    spec: StoreSpec, collection: str, generation: int, paragraphs: Sequence[Paragraph], root: Any
) -> RemoteText:
    """The text collection of a version, checked to hold its paragraphs."""
    from embeddings.stores.milvus_text import MilvusTextStore

    store = MilvusTextStore.open(spec, collection)
    check_count(
        f"text collection {collection!r} at {spec.uri}",
        store.count(generation),
        f"paragraphs of generation {generation}",
        len(paragraphs),
        f"`byline build --index {root} --store '{spec.uri}?bm25=milvus' --full`",
        root,
    )
    row_of = {uid: row for row, uid in enumerate(paragraph_uids(paragraphs))}
    return RemoteText(store, row_of)


def remote_lexical_scores(
    text: RemoteText, generation: int, query: str, wanted: int, where: Where
) -> list[tuple[int, float]]:
    """(paragraph row, BM25 score) best first, as ``LexicalIndex.search`` returns them: only
    paragraphs with a positive score, at most ``wanted``. One request: a row is a paragraph,
    so no widening is needed."""
    if not query.strip() or wanted <= 0:
        return []
    scores, uids = text.store.search(query, wanted, where, generation)
    found = []
    for uid, score in zip(uids, scores, strict=True):
        row = text.row_of.get(uid)
        if row is None:
            raise IndexStateError(
                f"the Milvus text collection answered paragraph {uid!r}, which this index "
                "version does not have (was the collection written by another index?); "
                "rebuild with `byline build --index DIR --full`"
            )
        if score > 0:
            found.append((row, float(score)))
    return found


def check_count(where: str, found: int, what: str, expected: int, rebuild: str, root: Any) -> None:
    """Refuse a collection that does not hold what the index folder's version expects (a
    build killed between the two, or another index's collection)."""
    if found != expected:
        raise IndexStateError(
            f"{where} holds {found} {what}, the index at {root} expects {expected}; "
            f"rebuild it with {rebuild}"
        )
