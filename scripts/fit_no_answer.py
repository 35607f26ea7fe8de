"""Fit ``qa.answer.NO_ANSWER_THRESHOLD`` on held-out data and report how well it separates.

Answerable: each shared dataset's questions against its own corpus. Unanswerable: the other
datasets' questions against that corpus (a biomedical claim asked of a news archive has no
answer there). The feature is the best cosine between the question and any paragraph. The
threshold maximises balanced accuracy on even-numbered questions and is reported on the odd
ones. SQuAD 2.0's adversarial unanswerable questions (same topic, no answer) are reported
too: retrieval alone cannot tell those apart, and the report says so.

    python scripts/fit_no_answer.py ../shared/eval
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from qa.beir import load_dataset
from qa.evaluation import prepare_index

DATASETS = ("multihop-rag-news", "squad2-dev", "scifact")
PER_SOURCE = 300  # questions taken from each dataset, to keep the run short


def _top_cosines(retriever, questions):  # type: ignore[no-untyped-def]
    return [retriever.ranked(q, 1).top_dense or 0.0 for q in questions]


def _balanced_accuracy(positive: np.ndarray, negative: np.ndarray, threshold: float) -> float:
    return 0.5 * (float(np.mean(positive >= threshold)) + float(np.mean(negative < threshold)))


def main(root: str) -> None:
    datasets = {name: load_dataset(Path(root) / name) for name in DATASETS}
    questions = {name: list(d.queries.values())[:PER_SOURCE] for name, d in datasets.items()}
    positives: dict[str, list[float]] = {"fit": [], "test": []}
    negatives: dict[str, list[float]] = {"fit": [], "test": []}
    for name, dataset in datasets.items():
        retriever = prepare_index(dataset)
        for other, asked in questions.items():
            scores = _top_cosines(retriever, asked)
            target = positives if other == name else negatives
            target["fit"].extend(scores[0::2])
            target["test"].extend(scores[1::2])
            print(
                f"{other:>18} -> {name:<18} median top cosine {np.median(scores):.3f}", flush=True
            )
    fit_pos, fit_neg = np.array(positives["fit"]), np.array(negatives["fit"])
    grid = np.round(np.arange(0.10, 0.80, 0.01), 2)
    best = max(grid, key=lambda t: _balanced_accuracy(fit_pos, fit_neg, float(t)))
    test_pos, test_neg = np.array(positives["test"]), np.array(negatives["test"])
    impossible = [
        json.loads(line)["text"]
        for line in (Path(root) / "squad2-dev" / "queries_all.jsonl").open()
        if json.loads(line).get("metadata", {}).get("is_impossible")
    ][:PER_SOURCE]
    squad_scores = np.array(_top_cosines(prepare_index(datasets["squad2-dev"]), impossible))
    report = {
        "threshold": float(best),
        "fit_balanced_accuracy": round(_balanced_accuracy(fit_pos, fit_neg, float(best)), 4),
        "held_out_balanced_accuracy": round(_balanced_accuracy(test_pos, test_neg, float(best)), 4),
        "held_out_answerable_kept": round(float(np.mean(test_pos >= best)), 4),
        "held_out_unanswerable_caught": round(float(np.mean(test_neg < best)), 4),
        "squad2_impossible_caught": round(float(np.mean(squad_scores < best)), 4),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/eval")
