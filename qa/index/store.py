"""One loaded index version: vectors, windows, paragraphs and articles, read once."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import EmbeddingsError, IndexFormatError
from embeddings.index import VectorIndex
from embeddings.store import IndexDirectory
from embeddings.stores.base import StoreSpec
from qa.errors import IndexStateError
from qa.index.lexical import LEXICAL_DIR, STORY_LEXICAL_DIR, LexicalIndex
from qa.index.remote_search import RemoteWindows, check_store_kind, open_remote
from qa.index.syndication import COPIES_FILE, copies_by_article
from qa.index.version import ARTICLES_FILE, PARAGRAPHS_FILE, WINDOWS_FILE
from qa.records import ArticleInfo, ArticleText, Paragraph


def _read_jsonl(path: Path, root: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError as error:
        raise IndexFormatError(
            f"{path} is missing; rebuild with `byline build --index {root} --full`"
        ) from error
    except (OSError, ValueError) as error:
        raise IndexFormatError(
            f"{path} is damaged ({error}); rebuild with `byline build --index {root} --full`"
        ) from error


def _load_lexical(folder: Path, root: Path, size: int, name: str = LEXICAL_DIR) -> LexicalIndex:
    try:
        return LexicalIndex.load(folder, size, name)
    except (OSError, ValueError, KeyError) as error:
        raise IndexFormatError(
            f"{folder / LEXICAL_DIR} is missing or damaged ({error}); rebuild with "
            f"`byline build --index {root} --full`"
        ) from error


def _load_copies(path: Path, root: Path) -> dict[str, tuple[str, ...]]:
    if not path.exists():  # an index built before copies were detected
        return {}
    try:
        groups = json.loads(path.read_text(encoding="utf-8"))["groups"]
        return copies_by_article([[str(member) for member in group] for group in groups])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexFormatError(
            f"{path} is damaged ({error}); rebuild with `byline build --index {root} --full`"
        ) from error


@dataclass(frozen=True)
class LoadedIndex:
    root: Path
    version: str
    manifest: dict[str, Any]
    vectors: VectorIndex | None  # None where a Milvus store serves them (``remote``)
    lexical: LexicalIndex
    window_paragraph: np.ndarray  # paragraph row of each vector
    paragraphs: tuple[Paragraph, ...]
    articles: dict[str, dict[str, Any]]
    # BM25 over whole stories, row n = story_ids[n]; None where every article is a single
    # paragraph (story context would change nothing) or for versions built before it existed.
    story_lexical: LexicalIndex | None = None
    story_ids: tuple[str, ...] = ()
    # article id -> its group of syndicated copies (qa.index.syndication); empty for versions
    # built before copies were detected, which then show every copy as its own card.
    copies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    remote: RemoteWindows | None = None

    @classmethod
    def load(cls, root: Path, store: StoreSpec | None = None) -> LoadedIndex:
        """The current version; its vectors from the folder (FAISS) or the Milvus collection
        its manifest names, at the address ``store`` gives if any (a server seen from
        another host)."""
        directory = IndexDirectory(root)
        try:
            folder = directory.current_path()
            manifest = directory.read_manifest(folder)
            dimension = int(manifest["dimension"])
            check_store_kind(manifest, root, store)
            remote_store = manifest.get("store")
            vectors = None if remote_store else VectorIndex.load(folder, dimension)
            try:
                with np.load(folder / WINDOWS_FILE, allow_pickle=False) as columns:
                    window_paragraph = columns["paragraph"]
                    uids = columns["uid"] if remote_store else None
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
                raise IndexFormatError(
                    f"{folder / WINDOWS_FILE} is missing or damaged; rebuild with "
                    f"`byline build --index {root} --full`"
                ) from error
            paragraphs = tuple(
                Paragraph(**row) for row in _read_jsonl(folder / PARAGRAPHS_FILE, root)
            )
            article_rows = _read_jsonl(folder / ARTICLES_FILE, root)
            articles = {row["article_id"]: row for row in article_rows}
            lexical = _load_lexical(folder, root, len(paragraphs))
            story_ids = tuple(str(row["article_id"]) for row in article_rows)
            story_lexical = None
            if len(story_ids) < len(paragraphs) and (folder / STORY_LEXICAL_DIR).is_dir():
                story_lexical = _load_lexical(folder, root, len(story_ids), STORY_LEXICAL_DIR)
            copies = _load_copies(folder / COPIES_FILE, root)
            remote = None
            if remote_store:
                remote = open_remote(root, remote_store, store, dimension, uids, paragraphs)
        except EmbeddingsError as error:
            raise IndexStateError(str(error)) from error
        except (KeyError, TypeError, ValueError) as error:
            raise IndexStateError(
                f"the index at {root} is damaged ({error}); rebuild it with "
                f"`byline build --index {root} --full`"
            ) from error
        count = len(remote) if remote is not None else len(vectors or ())
        if len(window_paragraph) != count or (
            len(window_paragraph) and int(window_paragraph.max()) >= len(paragraphs)
        ):
            raise IndexStateError(
                f"the index at {root} is inconsistent ({count} vectors, "
                f"{len(window_paragraph)} windows, {len(paragraphs)} paragraphs); rebuild it "
                f"with `byline build --index {root} --full`"
            )
        return cls(
            root=root,
            version=folder.name,
            manifest=manifest,
            vectors=vectors,
            lexical=lexical,
            window_paragraph=window_paragraph,
            paragraphs=paragraphs,
            articles=articles,
            story_lexical=story_lexical,
            story_ids=story_ids,
            copies=copies,
            remote=remote,
        )

    def article_infos(self) -> list[ArticleInfo]:
        return [
            ArticleInfo(
                article_id=row["article_id"],
                title=row["title"],
                published=row.get("published"),
                paragraphs=int(row.get("paragraphs", 0)),
                source=row["source"],
            )
            for row in self.articles.values()
        ]

    def article_text(self, article_id: str) -> ArticleText | None:
        row = self.articles.get(article_id)
        if row is None:
            return None
        return ArticleText(
            article_id=row["article_id"],
            title=row["title"],
            published=row.get("published"),
            source=row["source"],
            start=int(row["start"]),
            text=row["text"],
        )
