"""Exact vs approximate FAISS indexes on real embeddings grown to archive size.

A measurement script (not a test) behind the constants in embeddings/index.py::

    python -m bench.ann --sizes 100000 --m 16 32 --ef-construction 40 80 --ef-search 64 128

Base vectors are real document embeddings cached by ``bench.quality``; larger sizes add
noisy copies (see ``bench.common.synthetic``). Queries are real query embeddings. For each
index: build seconds, memory (serialised size), recall@10 against exact search and single-query
latency p50/p95 at k=10 and at k=400 (what hybrid retrieval asks the dense index for).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from bench.common import percentiles_ms, real_queries, real_vectors, synthetic


def _latency(index, queries: np.ndarray, k: int, threads: int | None = None) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    import faiss

    samples = []
    before = faiss.omp_get_max_threads()
    if threads:
        faiss.omp_set_num_threads(threads)
    for query in queries:
        began = time.perf_counter()
        index.search(query.reshape(1, -1), k)
        samples.append(time.perf_counter() - began)
    faiss.omp_set_num_threads(before)
    return percentiles_ms(samples)


def recall_at(found: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    hits = [len(set(f[:k]) & set(e[:k])) for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits) / k)


def study(
    sizes: Sequence[int],
    ms: Sequence[int],
    efcs: Sequence[int],
    efss: Sequence[int],
    fp16: bool,
    ivf: bool,
) -> None:
    import faiss

    base, queries = real_vectors(), real_queries()
    print(f"base: {len(base)} real vectors; {len(queries)} real queries")
    for size in sizes:
        data = synthetic(base, size)
        flat = faiss.IndexFlatIP(data.shape[1])
        flat.add(data)
        _, exact = flat.search(queries, 10)
        for threads in (1, 2):
            p50, p95 = _latency(flat, queries[:100], 10, threads)
            print(f"{size:>8} flat threads={threads}  k=10 p50 {p50:.2f} p95 {p95:.2f} ms")
        p50, p95 = _latency(flat, queries[:100], 400, 1)
        print(f"{size:>8} flat threads=1  k=400 p50 {p50:.2f} p95 {p95:.2f} ms")
        del flat
        variants = [(m, efc, False) for m in ms for efc in efcs]
        if fp16:
            variants += [(m, efc, True) for m in ms for efc in efcs]
        for m, efc, half in variants:
            if half:
                index = faiss.IndexHNSWSQ(
                    data.shape[1], faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT
                )
                index.train(data[:1000])
            else:
                index = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = efc
            began = time.perf_counter()
            index.add(data)
            seconds = time.perf_counter() - began
            mib = faiss.serialize_index(index).nbytes / 2**20
            name = f"hnsw{'-fp16' if half else ''} M={m} efC={efc}"
            print(f"{size:>8} {name}: build {seconds:.1f} s, {mib:.0f} MiB", flush=True)
            for efs in efss:
                index.hnsw.efSearch = efs
                _, found = index.search(queries, 10)
                p50, p95 = _latency(index, queries[:100], 10, 1)
                q50, q95 = _latency(index, queries[:100], 400, 1)
                print(
                    f"{size:>8}   efSearch={efs:<4} recall@10 {recall_at(found, exact):.4f}  "
                    f"k=10 p50 {p50:.2f} p95 {p95:.2f} ms  k=400 p50 {q50:.2f} p95 {q95:.2f} ms",
                    flush=True,
                )
            del index
        if ivf:
            from embeddings.index import VectorIndex

            began = time.perf_counter()
            built = VectorIndex.build(data, data.shape[1], exact_below=0)  # as shipped
            seconds = time.perf_counter() - began
            index = built._index  # type: ignore[attr-defined]
            print(f"{size:>8} ivf nlist={index.nlist}: build {seconds:.1f} s", flush=True)
            for nprobe in (8, 16, 32, 64, 128):
                index.nprobe = nprobe
                _, found = index.search(queries, 10)
                p50, p95 = _latency(index, queries[:100], 10, 1)
                print(
                    f"{size:>8}   nprobe={nprobe:<4} recall@10 {recall_at(found, exact):.4f}  "
                    f"k=10 p50 {p50:.2f} p95 {p95:.2f} ms",
                    flush=True,
                )
            del index, built
        del data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--m", type=int, nargs="+", default=[32])
    parser.add_argument("--ef-construction", type=int, nargs="+", default=[80])
    parser.add_argument("--ef-search", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--fp16", action="store_true", help="also HNSW over float16 vectors")
    parser.add_argument("--ivf", action="store_true", help="also IVF-Flat")
    args = parser.parse_args(argv)
    study(args.sizes, args.m, args.ef_construction, args.ef_search, args.fp16, args.ivf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
