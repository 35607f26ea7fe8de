"""The measured work, one job per fresh process so that peak memory is the job's own.

``python -m bench.workers JOB JSON_ARGS`` prints one JSON line with the job's numbers.
bench/run.py starts these and prints the table.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import peak_rss_mib, percentiles_ms, real_queries, real_vectors, synthetic

WARMUP = 3


def _preimport() -> float:
    """Import the heavy libraries both systems use before any clock starts; the seconds that
    took (the same for both, so left out of both build times and reported apart)."""
    began = time.perf_counter()
    import faiss  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    return time.perf_counter() - began


def _model_path() -> str:
    from embeddings.encoder import resolve_model

    return resolve_model(None)[1]


def byline_build(corpus: str, index: str, profile: bool = False) -> dict[str, Any]:
    """``profile``: the same build with its stages timed (bench/stages.py)."""
    imports = _preimport()
    from bench.stages import StageClock
    from qa.index.build import build_index

    clock = StageClock()
    began = time.perf_counter()
    if profile:
        with clock.install():
            report = build_index([corpus], index=index, full=True)
    else:
        report = build_index([corpus], index=index, full=True)
    seconds = time.perf_counter() - began
    from embeddings.encoder import load_encoder
    from embeddings.store import IndexDirectory

    manifest = IndexDirectory(Path(index)).read_manifest()
    result = {
        "precision": load_encoder().precision,  # the build's encoder (cached per process)
        "seconds": seconds,
        "imports": imports,
        "paragraphs": report.paragraphs,
        "windows": manifest["counts"]["windows"],
        "peak_mib": peak_rss_mib(),
    }
    if profile:
        stages = dict(clock.seconds)
        stages["other"] = seconds - sum(stages.values())
        result["stages"] = stages
    return result


def _peer_texts(corpus: str) -> list[str]:
    """The paragraphs Byline indexes, each with its headline as Byline embeds it."""
    from qa.ingest.corpus import read_articles

    articles, _warnings = read_articles([Path(corpus)])
    return [
        f"{p.title}\n{p.text}" if p.title else p.text
        for article in articles
        for p in article.paragraphs
    ]


def txtai_build(corpus: str, index: str, profile: bool = False) -> dict[str, Any]:
    """``profile`` is accepted for symmetry: txtai's build is timed as a whole."""
    imports = _preimport()
    from txtai import Embeddings

    began = time.perf_counter()
    texts = _peer_texts(corpus)
    embeddings = Embeddings(path=_model_path(), backend="faiss")
    embeddings.index([(row, text, None) for row, text in enumerate(texts)])
    embeddings.save(index)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "imports": imports,
        "paragraphs": len(texts),
        "peak_mib": peak_rss_mib(),
    }


def _timed(call: Any, questions: Sequence[str]) -> tuple[float, float]:
    for question in questions[:WARMUP]:
        call(question)
    samples = []
    for question in questions:
        began = time.perf_counter()
        call(question)
        samples.append(time.perf_counter() - began)
    return percentiles_ms(samples)


def byline_serve(index: str, questions: list[str]) -> dict[str, Any]:
    """Load an index the way `byline serve` does and answer one question at a time."""
    _preimport()
    from qa.search.query import get_retriever, retrieve

    began = time.perf_counter()
    get_retriever(index)
    load_seconds = time.perf_counter() - began
    p50, p95 = _timed(lambda q: retrieve(q, k=5, index=index), questions)
    return {"p50": p50, "p95": p95, "load_seconds": load_seconds, "peak_mib": peak_rss_mib()}


def txtai_serve(index: str, questions: list[str]) -> dict[str, Any]:
    _preimport()
    from txtai import Embeddings

    began = time.perf_counter()
    embeddings = Embeddings()
    embeddings.load(index)
    load_seconds = time.perf_counter() - began
    p50, p95 = _timed(lambda q: embeddings.search(q, 5), questions)
    return {"p50": p50, "p95": p95, "load_seconds": load_seconds, "peak_mib": peak_rss_mib()}


def scale_build(rows: int, folder: str, storage: str = "float32") -> dict[str, Any]:
    """Synthetic vectors grown from real embeddings -> a saved VectorIndex of the kind that
    embeddings.index chooses for that size; recall@10 of its answers against exact search."""
    from embeddings.index import VectorIndex

    data = synthetic(real_vectors(), rows)
    queries = real_queries()
    began = time.perf_counter()
    index = VectorIndex.build(data, data.shape[1], storage=storage)
    seconds = time.perf_counter() - began
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = index.save(Path(folder))
    _, found = index.search(queries, 10)
    _, wide = index.search(queries, 400)  # what Retriever.dense_scores asks for
    exact = _exact_top10(data, queries).tolist()

    def recall(ids: np.ndarray) -> float:
        hits = [len(set(f[:10]) & set(e)) for f, e in zip(ids.tolist(), exact, strict=True)]
        return float(np.mean(hits) / 10)

    return {
        "rows": rows,
        "kind": index.kind,
        "build_seconds": seconds,
        "disk_mib": path.stat().st_size / 2**20,
        "recall10": recall(found),
        "recall10_of_400": recall(wide),
        "peak_mib": peak_rss_mib(),
    }


def _exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Brute-force top-10 ids, in blocks of rows so that 1M rows need little memory."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for begin in range(0, len(data), 100_000):
        scores = queries @ data[begin : begin + 100_000].T
        top = np.argpartition(-scores, min(10, scores.shape[1] - 1), axis=1)[:, :10]
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, 1)])
        best_ids = np.hstack([best_ids, top + begin])
        keep = np.argsort(-best_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(best_scores, keep, 1)
        best_ids = np.take_along_axis(best_ids, keep, 1)
    return best_ids


class _RepeatedParagraphs(Sequence):  # type: ignore[type-arg]
    """``rows`` paragraph records cycling through a real archive's, without holding copies."""

    def __init__(self, paragraphs: Sequence[Any], rows: int) -> None:
        self._paragraphs, self._rows = paragraphs, rows

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, row):  # type: ignore[no-untyped-def]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self._rows))]
        return self._paragraphs[row % len(self._paragraphs)]


def scale_serve(rows: int, folder: str, news_index: str, questions: list[str]) -> dict[str, Any]:
    """retrieve() through the real Retriever over a grown index: ``rows`` passages of one
    window each, whose records cycle through the news archive's; plus its two parts timed
    alone."""
    _preimport()
    from embeddings.index import VectorIndex
    from embeddings.onnx_encoder import load_query_encoder
    from qa.index.store import LoadedIndex
    from qa.search.retrieval import Retriever
    from qa.settings import Settings

    baseline_mib = peak_rss_mib()
    began = time.perf_counter()
    vectors = VectorIndex.load(Path(folder), 384)
    loaded = LoadedIndex.load(Path(news_index).resolve())
    grown = dataclasses.replace(
        loaded,
        vectors=vectors,
        window_paragraph=np.arange(rows, dtype=np.int64),
        paragraphs=_RepeatedParagraphs(loaded.paragraphs, rows),
    )
    # The encoder retrieval itself uses for questions (ONNX unless BYLINE_QUERY_BACKEND=torch).
    settings = Settings.resolve()
    encoder = load_query_encoder(None, backend=settings.query_backend, models_dir=settings.models)
    retriever = Retriever(grown, encoder)
    load_seconds = time.perf_counter() - began
    loaded_mib = peak_rss_mib()
    # Dense only: the lexical index stays the news archive's, so hybrid would time BM25 over
    # a few hundred paragraphs, not over ``rows``.
    dense = {"mode": "dense"} if "mode" in inspect.signature(retriever.retrieve).parameters else {}
    p50, p95 = _timed(lambda q: retriever.retrieve(q, 5, **dense), questions)
    encode50, encode95 = _timed(encoder.encode_query, questions)
    query_vectors = {q: encoder.encode_query(q) for q in questions}
    search50, search95 = _timed(lambda q: vectors.search(query_vectors[q], 400), questions)
    peak_mib = peak_rss_mib()
    # Recall against exact search, after the memory reading: it regenerates the vectors.
    data = synthetic(real_vectors(), rows)
    queries = real_queries()
    exact = _exact_top10(data, queries).tolist()

    def recall(k: int) -> float:
        found = np.vstack([vectors.search(query, k)[1][:, :10] for query in queries])
        hits = [len(set(f) & set(e)) for f, e in zip(found.tolist(), exact, strict=True)]
        return float(np.mean(hits) / 10)

    return {
        "recall10": recall(10),
        "recall10_of_400": recall(400),
        "rows": rows,
        "kind": vectors.kind,
        "p50": p50,
        "p95": p95,
        "encode_p50": encode50,
        "search400_p50": search50,
        "search400_p95": search95,
        "load_seconds": load_seconds,
        "before_mib": baseline_mib,
        "loaded_mib": loaded_mib,
        "peak_mib": peak_mib,
        "precision": encoder.precision,
    }


JOBS = {
    "byline_build": byline_build,
    "txtai_build": txtai_build,
    "byline_serve": byline_serve,
    "txtai_serve": txtai_serve,
    "scale_build": scale_build,
    "scale_serve": scale_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = JOBS[argv[0]](**json.loads(argv[1]))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
