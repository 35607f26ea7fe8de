"""Filtered vs unfiltered dense search at N passages, in its own process (bench/speed.py).

    python -m bench.filter_worker 1000000

N one-window paragraphs of 10,000 articles (100 paragraphs each, one date per article over
1,000 days), clustered synthetic vectors in the IVF index embeddings.index builds for that
size. Times ``Retriever.dense_scores`` for the candidate pool retrieval asks for (100),
unfiltered, with one article, and with one day; and the paragraph-by-paragraph scan it
replaced (the reference the tests compare against) on fewer questions, as it is slow.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from bench.common import percentiles_ms, synthetic

POOL = 100
ARTICLES = 10_000
DAYS = 1_000


def _old_dense_scores(index: Any, query: np.ndarray, wanted: int, filters: Any) -> list:
    total_windows = len(index.vectors)
    limit = min(total_windows, max(wanted * 4, wanted + 16))
    while True:
        scores, ids = index.vectors.search(query.reshape(1, -1), limit)
        best: dict[int, float] = {}
        for window, score in zip(ids[0], scores[0], strict=True):
            if window < 0:
                continue
            row = int(index.window_paragraph[window])
            if row not in best and filters.allows(index.paragraphs[row]):
                best[row] = float(score)
        if len(best) >= wanted or limit >= total_windows:
            return list(best.items())[:wanted]
        limit = min(total_windows, limit * 4)


def _p50(call: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    times = []
    for query in queries:
        began = time.perf_counter()
        call(query)
        times.append(time.perf_counter() - began)
    return percentiles_ms(times)[0]


def measure(rows: int) -> dict[str, Any]:
    from embeddings.index import VectorIndex
    from qa.records import Paragraph
    from qa.search.retrieval import Filters, Retriever

    rng = np.random.default_rng(0)
    base = rng.standard_normal((20_000, 384), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    data = synthetic(base, rows)
    began = time.perf_counter()
    vectors = VectorIndex.build(data, 384)
    build_seconds = time.perf_counter() - began
    first_day = dt.date(2021, 1, 1)
    days = [(first_day + dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
    per_article = max(1, rows // ARTICLES)
    paragraphs = tuple(
        Paragraph(
            f"a{row // per_article:05d}",
            "t",
            days[(row // per_article) % DAYS],
            None,
            row % per_article,
            0,
            1,
            "x",
            "s",
        )
        for row in range(rows)
    )
    index = SimpleNamespace(
        vectors=vectors, window_paragraph=np.arange(rows, dtype=np.int64), paragraphs=paragraphs
    )
    retriever = Retriever.__new__(Retriever)  # the index is all dense_scores reads
    retriever.index = index  # type: ignore[assignment]
    picks = rng.integers(0, rows, 40)
    queries = data[picks] + 0.05 * rng.standard_normal((40, 384), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    article = Filters(article_id=paragraphs[int(picks[0])].article_id)
    day = paragraphs[int(picks[1])].published
    date = Filters(date_from=day, date_to=day)
    result: dict[str, Any] = {"rows": rows, "kind": vectors.kind, "build_s": build_seconds}
    result["unfiltered_p50"] = _p50(lambda q: retriever.dense_scores(q, POOL, Filters()), queries)
    for name, chosen in (("article", article), ("date", date)):
        retriever.dense_scores(queries[0], POOL, chosen)  # builds the columns once
        result[f"{name}_allowed"] = sum(chosen.allows(p) for p in paragraphs)
        result[f"{name}_p50"] = _p50(
            lambda q, f=chosen: retriever.dense_scores(q, POOL, f), queries
        )
        result[f"{name}_scan_p50"] = _p50(
            lambda q, f=chosen: _old_dense_scores(index, q, POOL, f), queries[:5]
        )
        same = all(
            retriever.dense_scores(q, POOL, chosen) == _old_dense_scores(index, q, POOL, chosen)
            for q in queries[:3]
        )
        result[f"{name}_same_as_scan"] = same
    return result


if __name__ == "__main__":
    print("RESULT " + json.dumps(measure(int(sys.argv[1]))), flush=True)
