"""``byline eval``: recall@k, MRR@10 and nDCG@10 on a BEIR dataset, through the same
retrieval code that ``qa.retrieve`` uses. Metrics come from trec_eval (pytrec_eval).

Two more, computed here because trec_eval has no such measure:

- ``passage_hit@5``: share of questions with a passage of a gold document among the first 5
  passages (on whole-story archives: the story is shown, not merely ranked).
- ``answer_in_quote``: share of questions whose highlighted sentences of passage 1 (what the
  reply quotes) contain a gold answer string, compared as SQuAD does (case, punctuation and
  articles ignored). Only for datasets with answers (SQuAD's ``answers``, the quiz's
  ``answer``).
"""

from __future__ import annotations

import re
import shutil
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from embeddings.store import IndexDirectory
from qa.errors import BylineError, CorpusError
from qa.eval.beir import Dataset, corpus_hash, doc_of_source, load_dataset, write_articles_jsonl
from qa.index.build import ProgressCallback, build_index
from qa.ingest.windows import content_hash
from qa.rank.highlight import highlight_spans
from qa.search.query import get_retriever
from qa.search.retrieval import Retriever
from qa.settings import Settings


def prepare_index(
    dataset: Dataset,
    *,
    model: str | None = None,
    progress: ProgressCallback | bool | None = None,
    store: str | None = None,
) -> Retriever:
    """A retriever over the dataset's corpus; the cached index is reused when it loads and
    matches the model, else rebuilt (reusing every vector it can). Each store setting has
    its own cached index folder, so FAISS and Milvus figures come from the same code."""
    settings = Settings.resolve(model=model, store=store)
    root = settings.home / "eval" / f"{dataset.name}-{corpus_hash(dataset)}"
    spec = settings.store_spec
    index = root / "index"
    if spec.kind != "faiss":
        # ?bm25=milvus makes another collection, so another folder (the default keeps its name).
        extra = [f"bm25={spec.lexical}"] if spec.lexical not in (None, "byline") else []
        index = root / f"index-{content_hash(spec.uri, spec.collection or '', *extra)[:12]}"
    if IndexDirectory(index).exists():
        try:
            return get_retriever(index, model=model, store=settings.store)
        except BylineError:
            pass  # damaged, older format or another model: rebuilt below
    faiss_index = root / "index"
    if index != faiss_index and IndexDirectory(faiss_index).exists() and not index.exists():
        # The FAISS index of the same corpus, moved into the store: its vectors are reused
        # (qa/index/milvus_build.py), so comparing stores costs one embedding of the corpus.
        shutil.copytree(faiss_index, index)
    corpus = write_articles_jsonl(dataset, root / "articles.jsonl")
    build_index(
        [corpus], index=index, model=model, progress=progress, store=settings.store or "faiss"
    )
    return get_retriever(index, model=model, store=settings.store)


RECALL_CUTOFFS = (1, 5, 10, 100)
DEPTH = max(RECALL_CUTOFFS)


PASSAGE_HIT_DEPTH = 5


@dataclass
class Runs:
    """What the queries returned: document rankings, and what the reply shows."""

    docs: dict[str, list[str]] = field(default_factory=dict)
    passage_docs: dict[str, list[str]] = field(default_factory=dict)  # first passages' docs
    quotes: dict[str, str] = field(default_factory=dict)  # passage 1's highlighted sentences


def run_queries(
    retriever: Retriever,
    dataset: Dataset,
    mode: str,
    depth: int = DEPTH,
    *,
    progress: bool = False,
) -> Runs:
    """Each query's ranked document ids, from the same call that ``qa.retrieve`` makes, and
    (for datasets with answers) the quote ``qa.answer`` would open the reply with."""
    runs = Runs()
    items = list(dataset.queries.items())
    for query_id, text in tqdm(items, desc=f"{dataset.name} {mode}", disable=not progress):
        passages, ranking = retriever.search(text, depth, mode=mode)
        docs = [doc_of_source(p.source, dataset) for p in passages]
        runs.docs[query_id] = list(dict.fromkeys(docs))
        runs.passage_docs[query_id] = docs[:PASSAGE_HIT_DEPTH]
        if passages and query_id in dataset.answers:
            top = passages[0]
            spans = highlight_spans(
                [top], text, retriever.encoder, retriever.index.lexical, ranking.query_vector
            )[0]
            runs.quotes[query_id] = " ".join(
                top.text[start - top.start : end - top.start] for start, end in spans
            )
    return runs


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation) | set("“”‘’–—…")


def normalise_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's answer normalisation)."""
    text = "".join(" " if char in _PUNCTUATION else char for char in text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_in_quote(quote: str, answers: tuple[str, ...]) -> bool:
    normalised = f" {normalise_answer(quote)} "
    return any(
        f" {normalise_answer(answer)} " in normalised
        for answer in answers
        if normalise_answer(answer)
    )


def shown_metrics(runs: Runs, dataset: Dataset) -> dict[str, float]:
    """passage_hit@5 and, where the dataset has answers, answer_in_quote."""
    judged = [query for query in dataset.qrels if query in runs.passage_docs]
    metrics: dict[str, float] = {}
    if judged:
        hits = sum(
            bool(set(dataset.qrels[query]) & set(runs.passage_docs[query])) for query in judged
        )
        metrics[f"passage_hit@{PASSAGE_HIT_DEPTH}"] = round(hits / len(judged), 4)
    answered = [query for query in judged if query in dataset.answers]
    if answered:
        found = sum(
            answer_in_quote(runs.quotes.get(query, ""), dataset.answers[query])
            for query in answered
        )
        metrics["answer_in_quote"] = round(found / len(answered), 4)
    return metrics


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
    store: str | None = None,
    since: str | None = None,
) -> EvalResult:
    """Index the dataset's corpus (or reuse the cached index) and score every query, or the
    first ``limit`` of those dated ``since`` (ISO date) or later."""
    dataset = load_dataset(folder)
    if since is not None:
        if not dataset.query_dates:
            raise CorpusError(
                f"{folder}: its queries carry no metadata.date, so --since {since} cannot "
                "choose among them; leave --since out"
            )
        dataset = dataset.only(
            [q for q in dataset.queries if dataset.query_dates.get(q, "") >= since]
        )
    if limit is not None:
        dataset = dataset.only(list(dataset.queries)[:limit])
    if not dataset.queries:
        raise CorpusError(f"{folder}: no query in queries.jsonl has a judgement in qrels.tsv")
    retriever = prepare_index(dataset, model=model, progress=progress, store=store)
    runs = run_queries(retriever, dataset, mode, max(*cutoffs, 10), progress=progress)
    metrics = score_runs(runs.docs, dataset.qrels, cutoffs)
    metrics.update(shown_metrics(runs, dataset))
    return EvalResult(
        dataset=dataset.name,
        queries=len(dataset.queries),
        corpus=len(dataset.doc_ids),
        mode=mode,
        metrics=metrics,
    )
