"""How much of the first stage's depth the learned order keeps, on training questions.

For each question the first stage's candidates (``qa.rank.learned.candidate_block``) and the
shipped model's scores are recorded once; then the model's first *m* places are kept and the
rest of the candidates follow in the first stage's order (m = 0: the first stage alone; m =
``DEPTH``: the model's whole order, as served). MRR@10 and recall@5 over documents are printed
for each m, on RealTimeQA's 2020-2021 training quizzes and SQuAD 1.1 train as passages (the
shape of the passage-level shared sets). The candidates' order only: the damping of a story's
further paragraphs and the recency rules that follow the model are left out.

    python scripts/model_depth_replay.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.eval.beir import Dataset, doc_of_source, load_dataset
from qa.eval.evaluation import prepare_index
from qa.eval.training import squad_sample
from qa.rank.fusion import Scored
from qa.rank.learned import DEPTH, Candidates, LearnedRanker
from qa.search.retrieval import default_ranker

KEPT = (0, 1, 2, 3, 5, DEPTH)


class Recorder:
    """The shipped model, keeping the last candidates it ordered."""

    def __init__(self, model: LearnedRanker) -> None:
        self.model = model
        self.last: Candidates | None = None

    def reorder(self, candidates: Candidates) -> list[Scored]:
        self.last = candidates
        return self.model.reorder(candidates)


def replay(dataset: Dataset, query_ids: list[str]) -> dict[int, dict[str, float]]:
    retriever = prepare_index(dataset, progress=True)
    recorder = Recorder(default_ranker())
    retriever.ranker = recorder  # type: ignore[assignment]
    paragraphs = retriever.index.paragraphs
    totals = {kept: np.zeros(2) for kept in KEPT}
    for query in query_ids:
        recorder.last = None
        retriever.ranked(dataset.queries[query], DEPTH)
        candidates = recorder.last
        if candidates is None or not candidates.items:
            continue
        first = [item.row for item in candidates.items]
        scores = recorder.model.scores(candidates.features)
        learned = [first[int(place)] for place in np.argsort(-scores, kind="stable")]
        gold = set(dataset.qrels[query])
        for kept in KEPT:
            order = learned[:kept] + [row for row in first if row not in learned[:kept]]
            docs = list(
                dict.fromkeys(doc_of_source(paragraphs[row].source, dataset) for row in order)
            )
            relevant = [doc in gold for doc in docs[:10]]
            reciprocal = next((1 / rank for rank, hit in enumerate(relevant, 1) if hit), 0.0)
            totals[kept] += (reciprocal, sum(relevant[:5]) / len(gold))
    count = max(len(query_ids), 1)
    return {
        kept: {"mrr@10": round(mrr / count, 4), "recall@5": round(recall / count, 4)}
        for kept, (mrr, recall) in totals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared", help="folder with train/ and eval/")
    args = parser.parse_args()
    shared = Path(args.shared)
    quizzes = load_dataset(shared / "eval" / "realtimeqa-2020-2022")
    squad = load_dataset(squad_sample(shared / "train" / "squad1.1-train", 60, 1500))
    report = {
        "realtimeqa 2020-2021": replay(
            quizzes,
            [
                q
                for q in quizzes.queries
                if q in quizzes.qrels and quizzes.query_dates.get(q, "9") < "2022"
            ],
        ),
        "squad1.1-train passages": replay(squad, [q for q in squad.queries if q in squad.qrels]),
    }
    print(json.dumps({"model places kept": report}, indent=2))


if __name__ == "__main__":
    main()
