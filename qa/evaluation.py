"""``byline eval``: recall@k, MRR@10 and nDCG@10 on a BEIR dataset, through the same
retrieval code that ``qa.retrieve`` uses. Metrics come from trec_eval (pytrec_eval)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from embeddings.store import IndexDirectory
from qa.beir import Dataset, corpus_hash, doc_of_source, load_dataset, write_articles_jsonl
from qa.build import ProgressCallback, build_index
from qa.errors import BylineError, CorpusError
from qa.retrieval import Retriever, get_retriever
from qa.settings import Settings


def prepare_index(
    dataset: Dataset,
    *,
    model: str | None = None,
    progress: ProgressCallback | bool | None = None,
) -> Retriever:
    """A retriever over the dataset's corpus; the cached index is reused when it loads and
    matches the model, else rebuilt (reusing every vector it can)."""
    settings = Settings.resolve(model=model)
    root = settings.home / "eval" / f"{dataset.name}-{corpus_hash(dataset)}"
    index = root / "index"
    if IndexDirectory(index).exists():
        try:
            return get_retriever(index, model=model)
        except BylineError:
            pass  # damaged, older format or another model: rebuilt below
    corpus = write_articles_jsonl(dataset, root / "articles.jsonl")
    build_index([corpus], index=index, model=model, progress=progress)
    return get_retriever(index, model=model)


RECALL_CUTOFFS = (1, 5, 10, 100)
DEPTH = max(RECALL_CUTOFFS)


def run_queries(
    retriever: Retriever, dataset: Dataset, mode: str, depth: int = DEPTH, *, progress: bool = False
) -> dict[str, list[str]]:
    """Each query's ranked document ids, from the same call that ``qa.retrieve`` makes."""
    runs: dict[str, list[str]] = {}
    items = list(dataset.queries.items())
    for query_id, text in tqdm(items, desc=f"{dataset.name} {mode}", disable=not progress):
        passages = retriever.retrieve(text, depth, mode=mode)
        runs[query_id] = list(dict.fromkeys(doc_of_source(p.source, dataset) for p in passages))
    return runs


def score_runs(
    runs: dict[str, list[str]],
    qrels: dict[str, dict[str, int]],
    cutoffs: tuple[int, ...] = RECALL_CUTOFFS,
) -> dict[str, float]:
    """recall@1/5/10/100, MRR@10 and nDCG@10 averaged over the judged queries (trec_eval)."""
    import pytrec_eval

    def as_run(depth: int) -> dict[str, dict[str, float]]:
        # Scores that fall with rank, so trec_eval keeps our order exactly.
        return {
            query: {doc: float(len(docs) - rank) for rank, doc in enumerate(docs[:depth])}
            for query, docs in runs.items()
        }

    judged = {query: docs for query, docs in qrels.items() if query in runs}
    depth = max(*cutoffs, 10)
    recall = "recall." + ",".join(map(str, cutoffs))
    full = pytrec_eval.RelevanceEvaluator(judged, {recall}).evaluate(as_run(depth))
    top10 = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recip_rank"}).evaluate(
        as_run(10)
    )
    count = len(judged)
    metrics = {
        f"recall@{cut}": sum(full.get(q, {}).get(f"recall_{cut}", 0.0) for q in judged) / count
        for cut in cutoffs
    }
    metrics["mrr@10"] = sum(top10.get(q, {}).get("recip_rank", 0.0) for q in judged) / count
    metrics["ndcg@10"] = sum(top10.get(q, {}).get("ndcg_cut_10", 0.0) for q in judged) / count
    return {name: round(value, 4) for name, value in metrics.items()}


@dataclass(frozen=True)
class EvalResult:
    dataset: str
    queries: int
    corpus: int
    mode: str
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate(
    folder: str | Path,
    *,
    mode: str = "hybrid",
    model: str | None = None,
    limit: int | None = None,
    cutoffs: tuple[int, ...] = RECALL_CUTOFFS,
    progress: bool = False,
) -> EvalResult:
    """Index the dataset's corpus (or reuse the cached index) and score every query."""
    dataset = load_dataset(folder)
    if limit is not None:
        kept = dict(list(dataset.queries.items())[:limit])
        dataset = Dataset(
            dataset.name,
            dataset.folder,
            dataset.doc_ids,
            kept,
            {q: dataset.qrels[q] for q in kept},
        )
    if not dataset.queries:
        raise CorpusError(f"{folder}: no query in queries.jsonl has a judgement in qrels.tsv")
    retriever = prepare_index(dataset, model=model, progress=progress)
    runs = run_queries(retriever, dataset, mode, max(*cutoffs, 10), progress=progress)
    return EvalResult(
        dataset=dataset.name,
        queries=len(dataset.queries),
        corpus=len(dataset.doc_ids),
        mode=mode,
        metrics=score_runs(runs, dataset.qrels, cutoffs),
    )
