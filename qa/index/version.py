"""One index version folder: what it holds, writing it, and what a rebuild can reuse from it.

The FAISS build and the Milvus build write the same files (the Milvus one without the
vectors, which its store holds), so both use these functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.index import VectorIndex
from embeddings.store import MANIFEST_FILE, IndexDirectory, write_json_atomic
from qa.index.lexical import STORY_LEXICAL_DIR, LexicalIndex, lexical_text
from qa.index.syndication import COPIES_FILE, find_copies
from qa.ingest.windows import Window
from qa.records import Article, Paragraph

PARAGRAPHS_FILE = "paragraphs.jsonl"
ARTICLES_FILE = "articles.jsonl"
WINDOWS_FILE = "windows.npz"


@dataclass(frozen=True)
class Previous:
    """What the current version offers a rebuild."""

    keys: frozenset[str]  # content hashes of its windows, to count what the new one drops
    vectors: dict[str, np.ndarray]  # reusable vectors by content hash; empty: reuse nothing
    reason: str | None = None  # why nothing is reused although a version exists


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def previous_version(
    directory: IndexDirectory, model_id: str, dimension: int, full: bool
) -> Previous:
    """The current version's window hashes and, when its model matches and its files are
    sound, its vectors. A damaged version is rebuilt from scratch, never trusted."""
    if not directory.exists():
        return Previous(frozenset(), {})
    again = "every window is embedded again"
    try:
        version = directory.current_path()
        manifest = directory.read_manifest(version)
        with np.load(version / WINDOWS_FILE, allow_pickle=False) as windows:
            keys = [str(key) for key in windows["keys"]]
    # A damaged file fails in many ways (zipfile.BadZipFile, EOFError, faiss RuntimeError...);
    # each means the same here: nothing in it is reused.
    except Exception as error:
        reason = f"the current index cannot be reused ({_short(error)}); {again}"
        return Previous(frozenset(), {}, reason)
    if full:
        return Previous(frozenset(keys), {}, f"--full was asked: {again}")
    built_with = manifest.get("model")
    if built_with != model_id:
        reason = f"the index was built with model {built_with!r}, this build uses {model_id!r}"
        return Previous(frozenset(keys), {}, f"{reason}: {again}")
    try:
        vectors = VectorIndex.load(version, dimension).vectors()
        norms = np.linalg.norm(vectors, axis=1)
        if len(keys) != len(vectors) or not np.all(np.abs(norms - 1) < 1e-3):
            raise ValueError(
                f"{version} has {len(vectors)} vectors for {len(keys)} windows, or vectors "
                "that are not unit length"
            )
    except Exception as error:
        reason = f"the current index cannot be reused ({_short(error)}); {again}"
        return Previous(frozenset(keys), {}, reason)
    return Previous(frozenset(keys), dict(zip(keys, vectors, strict=True)))


def write_version(
    folder: Path,
    articles: Sequence[Article],
    paragraphs: Sequence[Paragraph],
    windows: Sequence[Window],
    vectors: np.ndarray | None,
    manifest: dict[str, Any],
    uids: Sequence[str] = (),
) -> None:
    """Everything of a version but the vectors when ``vectors`` is None (a Milvus store holds
    them, found by the windows' ``uids``)."""
    if vectors is not None:
        VectorIndex.build(vectors, manifest["dimension"]).save(folder)
    LexicalIndex.build([lexical_text(p.title, p.text) for p in paragraphs]).save(folder)
    LexicalIndex.build([lexical_text(a.title, a.text) for a in articles]).save(
        folder, STORY_LEXICAL_DIR
    )
    columns = {
        "paragraph": np.array([w.paragraph_row for w in windows], dtype=np.int32),
        "start": np.array([w.start for w in windows], dtype=np.int32),
        "end": np.array([w.end for w in windows], dtype=np.int32),
        "keys": np.array([w.key for w in windows], dtype="U64"),
    }
    if uids:
        columns["uid"] = np.array(uids, dtype="U32")
    np.savez(folder / WINDOWS_FILE, **columns)  # type: ignore[arg-type]
    with (folder / PARAGRAPHS_FILE).open("w", encoding="utf-8") as handle:
        for paragraph in paragraphs:
            handle.write(json.dumps(asdict(paragraph), ensure_ascii=False) + "\n")
    with (folder / ARTICLES_FILE).open("w", encoding="utf-8") as handle:
        for article in articles:
            record = {
                "article_id": article.article_id,
                "title": article.title,
                "keywords": list(article.keywords),
                "published": article.published,
                "source": article.source,
                "start": article.start,
                "text": article.text,
                "paragraphs": len(article.paragraphs),
                "sections": list(article.sections),
                "url": article.url,
                "author": article.author,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    write_json_atomic(folder / COPIES_FILE, {"groups": find_copies(articles)})
    write_json_atomic(folder / MANIFEST_FILE, manifest)
