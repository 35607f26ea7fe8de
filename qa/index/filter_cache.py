"""Which paragraphs and windows a filter allows, as numpy masks from per-index columns.

Checking ``Filters.allows`` paragraph by paragraph costs about a second per question at a
million paragraphs. Each loaded index gets its article ids and dates as arrays once, so a
filter is a vectorised comparison, and the masks of recent filters are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from embeddings.index import VectorIndex
from qa.records import Paragraph

# Loaded indexes whose columns are kept (a rebuild loads a new version; the old one goes).
_INDEXES = 4
# Masks kept per index: a conversation with a filter repeats it question after question.
_MASKS = 16


class FilterLike(Protocol):
    """qa.search.retrieval.Filters (which imports this module)."""

    @property
    def article_id(self) -> str | None: ...

    @property
    def date_from(self) -> str | None: ...

    @property
    def date_to(self) -> str | None: ...


@dataclass(frozen=True)
class _Columns:
    """Per paragraph: its article's number, whether it has a date, and the date ('' if
    none); per window: its paragraph row."""

    article_codes: np.ndarray
    article_numbers: dict[str, int]
    has_date: np.ndarray
    published: np.ndarray
    window_paragraph: np.ndarray


class _Entry:
    def __init__(self, paragraphs: Sequence[Paragraph], window_paragraph: np.ndarray) -> None:
        self.paragraphs = paragraphs  # identity check: the entry belongs to this index
        numbers: dict[str, int] = {}
        codes = np.fromiter(
            (numbers.setdefault(p.article_id, len(numbers)) for p in paragraphs),
            dtype=np.int64,
            count=len(paragraphs),
        )
        dates = [p.published for p in paragraphs]
        self.columns = _Columns(
            article_codes=codes,
            article_numbers=numbers,
            has_date=np.array([d is not None for d in dates], dtype=bool),
            published=np.array([d or "" for d in dates], dtype=str),
            window_paragraph=np.asarray(window_paragraph, dtype=np.int64),
        )
        self.masks: OrderedDict[tuple[str | None, ...], tuple[np.ndarray, np.ndarray]] = (
            OrderedDict()
        )


_lock = threading.Lock()
_entries: OrderedDict[int, _Entry] = OrderedDict()


def _entry(paragraphs: Sequence[Paragraph], window_paragraph: np.ndarray) -> _Entry:
    key = id(paragraphs)
    with _lock:
        found = _entries.get(key)
        if found is not None and found.paragraphs is paragraphs:
            _entries.move_to_end(key)
            return found
    made = _Entry(paragraphs, window_paragraph)  # outside the lock: seconds at 1M
    with _lock:
        _entries[key] = made
        while len(_entries) > _INDEXES:
            _entries.popitem(last=False)
    return made


def _mask(columns: _Columns, filters: FilterLike) -> np.ndarray:
    """What ``Filters.allows`` says for every paragraph, vectorised (same comparisons: exact
    article id, ISO dates compared as strings, undated paragraphs out under a date bound)."""
    allowed = np.ones(len(columns.article_codes), dtype=bool)
    if filters.article_id is not None:
        code = columns.article_numbers.get(filters.article_id, -1)
        allowed &= columns.article_codes == code
    if filters.date_from is not None or filters.date_to is not None:
        allowed &= columns.has_date
        if filters.date_from is not None:
            allowed &= columns.published >= filters.date_from
        if filters.date_to is not None:
            allowed &= columns.published <= filters.date_to
    return allowed


def allowed(
    paragraphs: Sequence[Paragraph], window_paragraph: np.ndarray, filters: FilterLike
) -> tuple[np.ndarray, np.ndarray]:
    """(paragraph mask, allowed window rows ascending) for an index's paragraphs and windows."""
    entry = _entry(paragraphs, window_paragraph)
    key = (filters.article_id, filters.date_from, filters.date_to)
    with _lock:
        cached = entry.masks.get(key)
        if cached is not None:
            entry.masks.move_to_end(key)
            return cached
    mask = _mask(entry.columns, filters)
    windows = np.flatnonzero(mask[entry.columns.window_paragraph])
    mask.setflags(write=False)
    windows.setflags(write=False)
    with _lock:
        entry.masks[key] = (mask, windows)
        while len(entry.masks) > _MASKS:
            entry.masks.popitem(last=False)
    return mask, windows


def best_per_paragraph(rows: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    """(paragraph row, score) of each paragraph's first (best) window, in window order."""
    _, first = np.unique(rows, return_index=True)
    first.sort()
    return [(int(rows[i]), float(scores[i])) for i in first]


def dense_among(
    vectors: VectorIndex,
    window_paragraph: np.ndarray,
    query: np.ndarray,
    wanted: int,
    windows: np.ndarray,
    limit: int,
) -> list[tuple[int, float]]:
    """Retriever.dense_scores for a filter, by exact search over only its ``windows``: what
    widening an exact unfiltered search until ``wanted`` allowed paragraphs turn up finds."""
    while True:
        scores, ids = vectors.search_among(query, limit, windows)
        keep = ids >= 0
        best = best_per_paragraph(window_paragraph[ids[keep]], scores[keep])
        if len(best) >= wanted or limit >= len(windows):
            return best[:wanted]
        limit *= 4
