"""The public query calls, ``retrieve`` and ``retrieve_many``, and the process-wide
``Retriever`` per index folder that they share (switched when a rebuild finishes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from embeddings.batching import with_batching
from embeddings.errors import EmbeddingsError
from embeddings.onnx_encoder import load_query_encoder
from embeddings.store import IndexDirectory
from qa.errors import IndexStateError, as_byline_error
from qa.index.store import LoadedIndex
from qa.records import Passage
from qa.search.dated import search_in_range
from qa.search.retrieval import Retriever
from qa.search.timeframe import frame_question
from qa.settings import Settings

# Index folders whose retrievers a process keeps (each holds an index, its paragraphs and
# BM25 in memory): a server has one; a script that walks through more folders than this
# loads the least recently asked one again rather than holding every index it ever opened.
RETRIEVERS_KEPT = 4


class RetrieverCache:
    """One Retriever per index folder per process, switched when a rebuild finishes; at
    most ``size`` folders, least recently used out first."""

    def __init__(self, size: int = RETRIEVERS_KEPT) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._retrievers: OrderedDict[tuple[Path, str | None], Retriever] = OrderedDict()

    def __len__(self) -> int:
        return len(self._retrievers)

    def get(self, settings: Settings) -> Retriever:
        from qa.index.build import build_index  # lazy: a build needs torch, a question does not

        root = settings.index.resolve()
        directory = IndexDirectory(root)
        try:
            current = directory.current_name()
        except EmbeddingsError as error:
            raise as_byline_error(error) from error
        key = (root, settings.store)
        with self._lock:
            cached = self._retrievers.get(key)
            if cached is not None and cached.index.version == current:
                self._retrievers.move_to_end(key)
                return cached
            if current is None:
                if not settings.is_default_index:
                    raise IndexStateError(
                        f"no index at {root}; build one with `byline build PATH --index {root}`"
                    )
                build_index(
                    index=root, model=settings.model, device=settings.device, store=settings.store
                )
            asked = settings.store_spec if settings.store else None
            loaded = LoadedIndex.load(root, asked)
            model = settings.model or loaded.manifest.get("model")
            try:
                encoder = load_query_encoder(
                    model,
                    settings.device,
                    backend=settings.query_backend,
                    models_dir=settings.models,
                )
            except EmbeddingsError as error:
                raise as_byline_error(error) from error
            # Questions answered at once (byline serve) share encoder calls.
            retriever = Retriever(loaded, with_batching(encoder, settings.batch_ms))
            self._retrievers[key] = retriever
            self._retrievers.move_to_end(key)  # a switched version is the newest use
            while len(self._retrievers) > self._size:
                self._retrievers.popitem(last=False)
            return retriever


_cache = RetrieverCache()


def get_retriever(
    index: str | Path | None = None,
    *,
    model: str | None = None,
    device: str | None = None,
    store: str | None = None,
) -> Retriever:
    """The process-wide retriever for an index (the default index is built on first use).
    ``store`` is the ``--store`` setting: by default the store the index was built into."""
    return _cache.get(Settings.resolve(index=index, model=model, device=device, store=store))


def retrieve(
    question: str,
    k: int = 5,
    *,
    index: str | Path | None = None,
    history: Sequence[str] = (),
    article_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    mode: str = "hybrid",
    as_of: str | date | None = None,
    infer_dates: bool = True,
    store: str | None = None,
) -> list[Passage]:
    """The ``k`` paragraphs that best answer ``question``, best first.

    ``index`` is an index folder (default: the per-user default index, built from the bundled
    archive on first use). ``history`` holds the conversation's earlier questions, oldest
    first, for follow-ups such as "Why was it postponed?". ``article_id``, ``date_from`` and
    ``date_to`` (ISO dates, inclusive) restrict which paragraphs may be returned. ``mode`` is
    ``hybrid`` (default), ``dense`` or ``bm25``.

    A time expression in the question ("last week", "in March 2024") becomes the date range,
    resolved against ``as_of`` (ISO date, default today), and is left out of the searched
    text; explicit ``date_from``/``date_to`` win. An inferred range that holds no article is
    not applied (``answer``'s ``date_range`` says so). ``infer_dates=False`` searches the question
    as typed, with no inferred range (the UI's "clear"). ``store`` overrides where the
    vectors are served from (``milvus://FILE.db``, ``http://HOST:19530``; default: where the
    index was built into; see the docs page "Scale out with Milvus and Ray").
    """
    text, found = frame_question(question, date_from, date_to, as_of, infer_dates)
    retriever = get_retriever(index, store=store)
    searched = text if isinstance(text, str) else question
    return search_in_range(retriever, question, searched, found, k, article_id, mode, history)[0]


def retrieve_many(
    questions: Sequence[str],
    k: int = 5,
    *,
    index: str | Path | None = None,
    mode: str = "hybrid",
    store: str | None = None,
) -> list[list[Passage]]:
    """``retrieve`` for several questions: a list of the same thing, in order."""
    retriever = get_retriever(index, store=store)
    return [retriever.retrieve(question, k, mode=mode) for question in questions]
