"""A build whose vectors go to a Milvus collection (embeddings/stores/milvus.py).

Incremental by content hash, as the FAISS build: a window the current generation holds keeps
its row (nothing is written for it); a new or changed window gets a row, its vector reused
from any row with the same content hash, else embedded; a window that is gone is marked dead.

Safe while queries run and when killed: generation G+1's new rows are written with
``born = G+1`` and the dropped ones get ``died = G+1``, which readers of G do not see (they
search ``born <= G < died``). The index folder's version, written last and switched to
atomically like a FAISS one, is what names G+1: until that switch every reader searches G,
exactly as before. A build killed before it leaves rows that the next build removes
(``MilvusStore.recover``) before it writes anything.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from embeddings.encoder import Encoder
from embeddings.errors import EmbeddingsError
from embeddings.store import IndexDirectory
from embeddings.stores.base import LIVE, StoreSpec
from embeddings.stores.milvus import MilvusStore
from qa.index.milvus_lexical import (
    MILVUS,
    article_field,
    lexical_of,
    text_collection,
    write_text_version,
)
from qa.index.version import previous_version, write_version
from qa.ingest.windows import Embed, Outcome, VersionInput, Window
from qa.records import Paragraph


def window_uids(windows: Sequence[Window], paragraphs: Sequence[Paragraph]) -> list[str]:
    """One id per window, the same in every build while the window's text, its article and
    its place there stay the same (so its row is kept); repeats are numbered."""
    seen: Counter[str] = Counter()
    uids = []
    for window in windows:
        paragraph = paragraphs[window.paragraph_row]
        identity = "\x1f".join(
            (window.key, paragraph.article_id, str(paragraph.index), str(window.start))
        )
        seen[identity] += 1
        identity += f"\x1f{seen[identity]}"
        uids.append(hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32])
    return uids


_FROM_FAISS = "the current index keeps its vectors in FAISS"


def _current_store(directory: IndexDirectory) -> dict[str, Any]:
    """The current version's manifest ({} if none or unreadable)."""
    if not directory.exists():
        return {}
    try:
        return directory.read_manifest()
    except EmbeddingsError:
        return {}


def _current_generation(
    directory: IndexDirectory, spec: StoreSpec, collection: str, model_id: str
) -> tuple[int, str | None]:
    """(generation the current version reads, why its rows cannot be reused or None)."""
    if not directory.exists():
        return 0, None
    try:
        manifest = directory.read_manifest()
    except EmbeddingsError as error:
        return 0, f"the current index cannot be reused ({error}); every window is embedded again"
    store = manifest.get("store") or {}
    if not store:
        return 0, _FROM_FAISS
    if store.get("uri") != spec.uri or store.get("collection") != collection:
        where = store.get("uri")
        return 0, f"the current index was served by {where}; every window is embedded again"
    generation = int(store.get("generation", 0))
    if manifest.get("model") != model_id:
        built_with = manifest.get("model")
        return generation, (
            f"the index was built with model {built_with!r}, this build uses {model_id!r}: "
            "every window is embedded again"
        )
    return generation, None


def _faiss_vectors(directory: IndexDirectory, encoder: Encoder, full: bool) -> dict[str, Any]:
    return previous_version(directory, encoder.model_id, encoder.dimension, full).vectors


def build_milvus_version(
    directory: IndexDirectory,
    spec: StoreSpec,
    encoder: Encoder,
    version: VersionInput,
    full: bool,
    embed: Embed,
    notify: Any,
) -> Outcome:
    """Write generation G+1 into the collection, then the index folder's version naming it."""

    collection = spec.collection_for(directory.root)
    windows, paragraphs = version.windows, version.paragraphs
    recorded = _current_store(directory).get("store") or {}
    # Who answers BM25: as asked, else as the current version was built (a rebuild keeps it).
    lexical = spec.lexical or lexical_of(recorded)
    generation, reason = _current_generation(directory, spec, collection, encoder.model_id)
    if full and reason is None:
        reason = "--full was asked: every window is embedded again"
    store = MilvusStore.create_or_open(spec, collection, encoder.dimension, len(windows))
    store.recover(generation)
    live = store.live_rows(generation) if generation else {}
    uids = window_uids(windows, paragraphs)
    kept = set() if reason else set(uids) & set(live)
    new = {uid: window for uid, window in zip(uids, windows, strict=True) if uid not in kept}
    if reason == _FROM_FAISS:
        # Moving an index into Milvus: the FAISS version's vectors are as good as any.
        reason = "--full was asked: every window is embedded again" if full else None
        known = _faiss_vectors(directory, encoder, full)
    else:
        known = store.vectors_for({w.key for w in new.values()}, generation) if not reason else {}
    texts = {w.key: w.embed_text for w in new.values() if w.key not in known}
    notify(0, len(texts), f"embedding {len(texts)} new windows")
    fresh = embed(list(texts.values()))
    vectors = {**known, **dict(zip(texts, fresh, strict=True))}
    born = generation + 1
    rows = [
        {
            "pk": f"{uid}:{born}",
            "uid": uid,
            "key": window.key,
            "vector": vectors[window.key].tolist(),
            "article_id": article_field(paragraphs[window.paragraph_row].article_id),
            "published": paragraphs[window.paragraph_row].published or "",
            "born": born,
            "died": LIVE,
        }
        for uid, window in new.items()
    ]
    notify(0, len(rows), f"writing {len(rows)} rows to {spec.uri}")
    store.insert(rows)
    dropped = [pk for uid, pk in live.items() if uid not in kept]
    store.mark_died(dropped, born)
    store.flush()
    described: dict[str, Any] = {
        "kind": "milvus",
        "uri": spec.uri,
        "collection": collection,
        "generation": born,
        "index_type": store.index_type,
    }
    if lexical == MILVUS:
        texts_in = text_collection(collection)
        # Rows of the current generation are the current text only where its BM25 runs in
        # this collection; --full writes every row again, as for the vectors.
        current = (
            lexical_of(recorded) == MILVUS
            and recorded.get("text_collection") == texts_in
            and recorded.get("uri") == spec.uri
        )
        notify(0, len(paragraphs), f"writing paragraph text for Milvus' BM25 to {spec.uri}")
        write_text_version(spec, texts_in, paragraphs, generation, current, full)
        described.update({"lexical": MILVUS, "text_collection": texts_in})
    manifest = {**version.manifest, "store": described}
    notify(len(rows), len(rows), "writing the index")
    with directory.new_version() as folder:
        write_version(folder, version.articles, paragraphs, windows, None, manifest, uids=uids)
    return Outcome(
        embedded=len(texts),
        reused=len(kept) + len(known),
        removed=len(dropped),
        reason=reason,
    )
