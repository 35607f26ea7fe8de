"""Filters through the per-index cache return exactly what the old paragraph-by-paragraph
scan returned: on the seed archive (exact index) and on a generated one (IVF index)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from embeddings.index import VectorIndex
from qa.index import filter_cache
from qa.records import Paragraph
from qa.search.retrieval import Filters, Retriever


def _old_dense_scores(retriever: Retriever, query: np.ndarray, wanted: int, filters: Filters):
    """Retriever.dense_scores as it was before the cache: the reference."""
    total_windows = len(retriever.index.vectors)
    limit = min(total_windows, max(wanted * 4, wanted + 16))
    while True:
        scores, ids = retriever.index.vectors.search(query.reshape(1, -1), limit)
        best: dict[int, float] = {}
        for window, score in zip(ids[0], scores[0], strict=True):
            if window < 0:
                continue
            row = int(retriever.index.window_paragraph[window])
            if row not in best and filters.allows(retriever.index.paragraphs[row]):
                best[row] = float(score)
        if len(best) >= wanted or limit >= total_windows:
            return list(best.items())[:wanted]
        limit = min(total_windows, limit * 4)


def _old_mask(paragraphs, filters: Filters) -> np.ndarray:
    return np.array([filters.allows(p) for p in paragraphs], dtype=bool)


def _generated(paragraphs: int = 3000, dimension: int = 32) -> Retriever:
    """Paragraphs of 60 articles over 2023 (some undated), 1-3 windows each, clustered
    vectors (near-duplicates, like wire copy), in an IVF index."""
    rng = np.random.default_rng(7)
    rows = []
    for row in range(paragraphs):
        article = row % 60
        day = None if article % 11 == 0 else f"2023-{1 + article % 12:02d}-{1 + article % 28:02d}"
        rows.append(Paragraph(f"a{article:03d}", f"T{article}", day, None, row, 0, 1, "x", "s"))
    window_paragraph = np.repeat(np.arange(paragraphs), rng.integers(1, 4, size=paragraphs))
    centres = rng.normal(size=(40, dimension))
    vectors = centres[rng.integers(0, 40, len(window_paragraph))]
    vectors = vectors + 0.3 * rng.normal(size=vectors.shape)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex.build(vectors, dimension, exact_below=1000)
    assert index.kind == ("ivf" if len(window_paragraph) >= 1000 else "flat")
    retriever = Retriever.__new__(Retriever)  # no model needed: the index is all it reads
    retriever.index = SimpleNamespace(  # type: ignore[assignment]
        vectors=index, window_paragraph=window_paragraph, paragraphs=tuple(rows), remote=None
    )
    return retriever


FILTERS = [
    Filters(article_id="a007"),
    Filters(article_id="no-such-article"),
    Filters(date_from="2023-08-08", date_to="2023-08-08"),  # article a007 alone
    Filters(date_from="2023-06-01"),
    Filters(date_to="2023-02-28"),
    Filters(article_id="a013", date_from="2023-01-01", date_to="2023-12-31"),
    Filters(article_id="a011", date_from="2023-01-01"),  # an undated article under a date bound
]


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_generated_ivf_archive_filters_like_the_scan(filters: Filters) -> None:
    retriever = _generated()
    rng = np.random.default_rng(3)
    mask, windows = filter_cache.allowed(
        retriever.index.paragraphs, retriever.index.window_paragraph, filters
    )
    assert np.array_equal(mask, _old_mask(retriever.index.paragraphs, filters))
    assert np.array_equal(windows, np.flatnonzero(mask[retriever.index.window_paragraph]))
    for _ in range(5):
        query = rng.normal(size=32).astype(np.float32)
        query /= np.linalg.norm(query)
        for wanted in (5, 100, 400):
            expected = _old_dense_scores(retriever, query, wanted, filters)
            assert retriever.dense_scores(query, wanted, filters) == expected


def test_unfiltered_search_is_unchanged() -> None:
    retriever = _generated()
    query = np.ones(32, dtype=np.float32) / np.sqrt(32)
    for wanted in (1, 100, 5000):
        expected = _old_dense_scores(retriever, query, wanted, Filters())
        assert retriever.dense_scores(query, wanted, Filters()) == expected


def test_seed_archive_filters_like_the_scan(seed_index: Path, encoder) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    from qa.index.store import LoadedIndex

    retriever = Retriever(LoadedIndex.load(seed_index), encoder)
    paragraphs = retriever.index.paragraphs
    articles = sorted({p.article_id for p in paragraphs})
    dates = sorted({p.published for p in paragraphs if p.published})
    cases = [Filters(article_id=a) for a in articles] + [
        Filters(date_from=dates[0], date_to=dates[0]),
        Filters(date_from=dates[len(dates) // 2]),
        Filters(date_to="1999-01-01"),
    ]
    question = "When will Antony Blinken visit China?"
    query = encoder.encode_query(question)
    for filters in cases:
        mask, _ = filter_cache.allowed(paragraphs, retriever.index.window_paragraph, filters)
        assert np.array_equal(mask, _old_mask(paragraphs, filters))
        for wanted in (3, 100):
            expected = _old_dense_scores(retriever, query, wanted, filters)
            assert retriever.dense_scores(query, wanted, filters) == expected
        expected_lexical = retriever.index.lexical.search(
            question, 100, _old_mask(paragraphs, filters).astype(np.float32)
        )
        assert retriever.lexical_scores(question, 100, filters) == expected_lexical


def test_masks_are_cached_and_read_only() -> None:
    retriever = _generated(300)
    filters = Filters(article_id="a001")
    first = filter_cache.allowed(
        retriever.index.paragraphs, retriever.index.window_paragraph, filters
    )
    again = filter_cache.allowed(
        retriever.index.paragraphs, retriever.index.window_paragraph, filters
    )
    assert first[0] is again[0]
    assert not first[0].flags.writeable
