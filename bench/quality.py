"""Dense retrieval quality of the encoder at each precision, on BEIR sets in shared/eval.

A throwaway measurement for the precision default (not a test): embeds ``title + " " + text``
of every document with the bundled model, searches exactly, scores with pytrec_eval::

    python -m bench.quality --dataset scifact --precision float32 bfloat16
    python -m bench.quality --dataset scifact --docs 1500   # judged docs + a random sample

Embeddings are cached under $BYLINE_BENCH_CACHE (default /tmp/byline-bench-cache), keyed by
dataset, subset and precision, so a second run only scores. ``--docs N`` keeps every judged
document plus random others up to N: the nDCG is then higher than on the full corpus, but
the difference between precisions on the same subset is what the comparison needs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np

from bench.common import EVAL, cache_dir, read_jsonl, read_qrels


def _subset(docs: list[dict], qrels: dict[str, dict[str, int]], size: int | None) -> list[dict]:
    if size is None or size >= len(docs):
        return docs
    judged = {doc for relevant in qrels.values() for doc in relevant}
    keep = [d for d in docs if d["_id"] in judged]
    others = [d for d in docs if d["_id"] not in judged]
    rng = np.random.default_rng(0)
    extra = rng.choice(len(others), size=max(0, size - len(keep)), replace=False)
    keep += [others[i] for i in sorted(extra)]
    return keep


def embed(texts: Sequence[str], precision: str, key: str) -> tuple[np.ndarray, float]:
    """(vectors, seconds spent embedding; 0 when read from the cache)."""
    path = cache_dir() / f"{key}-{precision}.npy"
    if path.exists():
        return np.load(path), 0.0
    from embeddings.encoder import load_encoder

    encoder = load_encoder(precision=precision)
    began = time.perf_counter()
    vectors = encoder.encode(list(texts))
    seconds = time.perf_counter() - began
    np.save(path, vectors)
    return vectors, seconds


def evaluate(dataset: str, precisions: Sequence[str], docs_limit: int | None) -> None:
    import pytrec_eval

    folder = EVAL / dataset
    qrels = read_qrels(folder / "qrels.tsv")
    docs = _subset(read_jsonl(folder / "corpus.jsonl"), qrels, docs_limit)
    queries = [q for q in read_jsonl(folder / "queries.jsonl") if q["_id"] in qrels]
    doc_ids = [d["_id"] for d in docs]
    texts = [(d.get("title") or "") + " " + d["text"] for d in docs]
    subset = f"{len(docs)}" if docs_limit else "all"
    print(f"{dataset}: {len(docs)} documents ({subset}), {len(queries)} judged queries")
    reference = None
    for precision in precisions:
        doc_vectors, doc_seconds = embed(texts, precision, f"{dataset}-docs-{subset}")
        query_vectors, _ = embed([q["text"] for q in queries], precision, f"{dataset}-queries")
        scores = query_vectors @ doc_vectors.T
        top = np.argsort(-scores, axis=1)[:, :100]
        run = {
            q["_id"]: {doc_ids[j]: float(scores[i, j]) for j in top[i]}
            for i, q in enumerate(queries)
        }
        measures = {"ndcg_cut_10", "recall_10"}
        per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
        ndcg = np.mean([m["ndcg_cut_10"] for m in per_query.values()])
        recall = np.mean([m["recall_10"] for m in per_query.values()])
        line = f"  {precision:9s} nDCG@10 {ndcg:.4f}  recall@10 {recall:.4f}"
        if doc_seconds:
            line += f"  ({len(docs) / doc_seconds:.1f} docs/s)"
        if reference is None:
            reference = (doc_vectors, query_vectors)
        else:
            cosine = np.sum(reference[0] * doc_vectors, axis=1)
            query_cosine = np.sum(reference[1] * query_vectors, axis=1)
            line += (
                f"  cosine to {precisions[0]}: docs min {cosine.min():.5f} mean "
                f"{cosine.mean():.5f}, queries min {query_cosine.min():.5f}"
            )
        print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="scifact", help="folder under shared/eval")
    parser.add_argument("--precision", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--docs", type=int, default=None, help="judged docs + random up to N")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    evaluate(args.dataset, args.precision, args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
