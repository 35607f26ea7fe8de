"""Dense search when a Milvus collection serves an index's vectors.

The index folder still holds everything else of the version (paragraphs, articles, Byline's
BM25, copies); Milvus answers the nearest windows of the version's generation that the
filters allow, and this module turns its window ids into paragraph rows, so what comes out is
what ``Retriever.dense_scores`` returns for a FAISS index. With ``?bm25=milvus`` the
paragraph BM25 is Milvus' too (qa/index/milvus_lexical.py), under the same filter expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.stores.base import StoreSpec, Where, WindowStore
from qa.errors import IndexStateError
from qa.index.filter_cache import FilterLike, best_per_paragraph
from qa.index.milvus_lexical import (
    MILVUS,
    RemoteText,
    article_field,
    check_count,
    lexical_of,
    open_text,
    remote_lexical_scores,
)
from qa.records import Paragraph


@dataclass(frozen=True)
class RemoteWindows:
    """A version's windows as a store serves them: uid -> window row, and the generation."""

    store: WindowStore
    generation: int
    row_of: dict[str, int]
    max_limit: int
    text: RemoteText | None = None  # the paragraphs' text, where Milvus answers BM25 too

    def __len__(self) -> int:
        return len(self.row_of)


def where_of(filters: FilterLike) -> Where:
    """Retrieval's filters as the store's ``Where`` (article ids as the store holds them)."""
    article = filters.article_id
    return Where(
        None if article is None else article_field(article), filters.date_from, filters.date_to
    )


def check_store_kind(manifest: dict[str, Any], root: Path, store: StoreSpec | None) -> None:
    """Refuse a store setting of another kind than the one the index was built into, or a
    BM25 (``?bm25=``) other than the one it was built with."""
    if store is None:
        return
    built = (manifest.get("store") or {}).get("kind", "faiss")
    if built != store.kind:
        where = "in its folder (FAISS)" if built == "faiss" else "in Milvus"
        raise IndexStateError(
            f"the index at {root} keeps its vectors {where}, but --store {store.describe()} "
            f"was asked; leave --store out to use the index as built, or rebuild it with "
            f"`byline build --index {root} --store {store.describe()}`"
        )
    lexical = lexical_of(manifest.get("store"))
    if store.lexical is not None and store.lexical != lexical:
        raise IndexStateError(
            f"the index at {root} was built with bm25={lexical}, but bm25={store.lexical} was "
            f"asked; leave ?bm25= out to use the index as built, or rebuild it with "
            f"`byline build --index {root} --store '{store.uri}?bm25={store.lexical}'`"
        )


def open_remote(
    root: Path,
    recorded: dict[str, Any],
    asked: StoreSpec | None,
    dimension: int,
    uids: np.ndarray | None,
    paragraphs: Sequence[Paragraph] = (),
) -> RemoteWindows:
    """The Milvus collection the manifest names, at the address asked for if one was."""
    from embeddings.stores.milvus import MAX_LIMIT, MilvusStore

    if uids is None:
        raise IndexStateError(
            f"the index at {root} names a Milvus store but has no window ids; rebuild it with "
            f"`byline build --index {root} --store {recorded.get('uri')} --full`"
        )
    uri = asked.uri if asked is not None else str(recorded["uri"])
    spec = StoreSpec("milvus", uri, str(recorded["collection"]))
    generation = int(recorded["generation"])
    store = MilvusStore.open(spec, str(recorded["collection"]), dimension)
    check_count(
        f"collection {spec.collection!r} at {uri}",
        store.count(generation),
        f"windows of generation {generation}",
        len(uids),
        f"`byline build --index {root} --store {uri} --full`",
        root,
    )
    row_of = {str(uid): row for row, uid in enumerate(uids)}
    text = None
    if lexical_of(recorded) == MILVUS:
        text = open_text(spec, str(recorded["text_collection"]), generation, paragraphs, root)
    return RemoteWindows(store, generation, row_of, MAX_LIMIT, text)


def remote_bm25_scores(
    remote: RemoteWindows, query: str, wanted: int, filters: FilterLike
) -> list[tuple[int, float]]:
    """(paragraph row, BM25 score) from Milvus' full-text search, best first."""
    if remote.text is None:
        raise IndexStateError("this index's BM25 is Byline's own; it has no Milvus text")
    return remote_lexical_scores(remote.text, remote.generation, query, wanted, where_of(filters))


def remote_dense_scores(
    remote: RemoteWindows,
    window_paragraph: np.ndarray,
    query: np.ndarray,
    wanted: int,
    filters: FilterLike,
) -> list[tuple[int, float]]:
    """(paragraph row, score) best first, each paragraph scored as its best window: the
    nearest windows are asked for, more each time, until ``wanted`` paragraphs turn up."""
    total = len(remote)
    # Fewer than FAISS's first ask (wanted * 4): Milvus' cost grows with the hits it returns,
    # and a paragraph has ~1.1 windows; the loop below asks for more when it must. With exact
    # search the first ``wanted`` paragraphs are the same whatever the first ask.
    limit = min(total, wanted + wanted // 4 + 16)
    where = where_of(filters)
    while True:
        scores, uids = remote.store.search(query, limit, where, remote.generation)
        try:
            windows = np.fromiter((remote.row_of[uid] for uid in uids), np.int64, len(uids))
        except KeyError as error:
            raise IndexStateError(
                f"the Milvus collection answered window {error.args[0]!r}, which this index "
                "version does not have (was the collection written by another index?); "
                "rebuild with `byline build --index DIR --full`"
            ) from error
        best = best_per_paragraph(window_paragraph[windows], scores)
        # Fewer windows than asked: the filter allows no more; at the cap Milvus gives no more.
        exhausted = len(uids) < limit or limit >= min(total, remote.max_limit)
        if len(best) >= wanted or exhausted:
            return best[:wanted]
        limit = min(total, remote.max_limit, limit * 4)
