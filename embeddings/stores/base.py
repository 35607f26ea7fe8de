"""The store setting and the small interface a vector store serves retrieval through.

A store holds one row per embedded window: its vector, the filter fields (article id,
published date) and two generation numbers. ``born`` is the build that added the row, ``died``
the build that dropped it (``LIVE`` until then). A reader of generation G sees exactly the rows
with ``born <= G < died``, so a build writes generation G+1 beside G while G keeps answering,
and the switch is the reader's next look at the index manifest (see qa/index/milvus_build.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import numpy as np

from embeddings.errors import StoreConfigError

LIVE = 2**62
"""``died`` of a row that no build has dropped yet."""

KINDS = ("faiss", "milvus")
LEXICAL = ("byline", "milvus")
"""Who answers BM25 for a Milvus store: Byline's own index in the folder (the default) or
Milvus' full-text search on a text collection beside the vectors (``?bm25=milvus``)."""
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_EXAMPLES = (
    "use faiss (the default), milvus://PATH/TO/FILE.db (Milvus Lite) or "
    "http://HOST:19530 (a Milvus server)"
)


@dataclass(frozen=True)
class StoreSpec:
    """A parsed store setting. ``uri`` is what pymilvus connects to: a local ``.db`` file
    (Milvus Lite, embedded) or a server address; empty for FAISS."""

    kind: str
    uri: str = ""
    collection: str | None = None  # None: derived from the index folder
    lexical: str | None = None  # one of LEXICAL; None: as the index was built (else byline)

    @property
    def is_lite(self) -> bool:
        return self.kind == "milvus" and not self.uri.startswith(("http://", "https://"))

    def collection_for(self, index_root: Path) -> str:
        """The collection an index folder writes: the one named in the setting, else one
        per index folder, so two indexes never share rows."""
        if self.collection:
            return self.collection
        digest = hashlib.sha256(str(Path(index_root).resolve()).encode()).hexdigest()[:12]
        return f"byline_{digest}"

    def describe(self) -> str:
        return "faiss" if self.kind == "faiss" else self.uri


def parse_store(value: str | None) -> StoreSpec:
    """``None``/``faiss`` -> FAISS; ``milvus://PATH`` -> Milvus Lite on that file;
    ``http(s)://HOST:PORT`` -> a Milvus server. ``?collection=NAME`` chooses the collection,
    ``?bm25=milvus`` has Milvus answer BM25 too (``?bm25=byline``: Byline's own, the default)."""
    if value is None or value.strip() in ("", "faiss"):
        return StoreSpec("faiss")
    text = value.strip()
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"collection", "bm25"})
    if unknown:
        raise StoreConfigError(
            f"unknown store option {unknown[0]!r} in {value!r}; the options are "
            "?collection=NAME and ?bm25=milvus, e.g. milvus://./news.db?collection=news"
        )
    lexical = query.get("bm25", [None])[-1]
    if lexical is not None and lexical not in LEXICAL:
        raise StoreConfigError(
            f"bm25={lexical!r} in {value!r} is not an option; use bm25=milvus (Milvus' "
            "full-text search) or bm25=byline (Byline's BM25, the default)"
        )
    if parts.scheme == "" and parts.path.strip() == "faiss":
        raise StoreConfigError(
            f"{value!r}: the FAISS store takes no options (its BM25 is always Byline's); "
            "for BM25 inside Milvus use a Milvus store, e.g. milvus://./news.db?bm25=milvus"
        )
    collection = query.get("collection", [None])[-1]
    if collection is not None and not _COLLECTION_NAME.match(collection):
        raise StoreConfigError(
            f"collection name {collection!r} in {value!r} is not a Milvus name; use letters, "
            "digits and underscores, starting with a letter, e.g. ?collection=news"
        )
    if parts.scheme == "milvus":
        path = (parts.netloc + parts.path).strip()
        if not path:
            raise StoreConfigError(f"store {value!r} names no file; {_EXAMPLES}")
        file = Path(path).expanduser()
        if file.suffix != ".db":
            # Milvus Lite opens only paths ending in .db (anything else is taken for a server).
            raise StoreConfigError(
                f"Milvus Lite needs a file name ending in .db, got {path!r}; "
                f"e.g. milvus://{file.with_suffix('.db')}"
            )
        return StoreSpec("milvus", str(file.resolve()), collection, lexical)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise StoreConfigError(f"store {value!r} names no host; {_EXAMPLES}")
        port = parts.port or 19530
        uri = f"{parts.scheme}://{parts.hostname}:{port}"
        return StoreSpec("milvus", uri, collection, lexical)
    raise StoreConfigError(f"unknown store {value!r}; {_EXAMPLES}")


@dataclass(frozen=True)
class Where:
    """Which windows a search may return (None: no restriction). Dates are ISO strings,
    compared as strings; an undated window never matches a date bound."""

    article_id: str | None = None
    date_from: str | None = None
    date_to: str | None = None


class WindowStore(Protocol):
    """What retrieval needs of a store that serves vectors outside this process."""

    def search(
        self, query: np.ndarray, limit: int, where: Where, generation: int
    ) -> tuple[np.ndarray, list[str]]:
        """(scores, window uids) of the ``limit`` nearest windows of ``generation`` that
        ``where`` allows, best first (inner product of unit vectors)."""
        ...

    def count(self, generation: int) -> int:
        """Windows of ``generation``."""
        ...
