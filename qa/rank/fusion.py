"""Fusing dense and BM25 rankings into one.

Plain reciprocal-rank fusion lost to dense retrieval alone on a news set (recall@5 0.77 vs
0.80), because it throws away how far ahead the leader is. Here each list's scores are
min-max normalised over its own candidates and mixed by a weight; a paragraph missing from
one list gets 0 from it.

The weight adapts to each question. No fixed weight is best everywhere: BM25 wins where
questions reuse the text's words (SciFact, SQuAD, MultiHop-RAG), dense retrieval on news
quizzes that paraphrase. Which retriever is right for a question shows in how sure each is:
how far its best candidate stands above the rest of its list (a z-score). Across all five
shared sets, a question whose BM25 leader stands out is better served by a lower dense weight,
and one whose dense leader stands out by a higher one. So the weight moves from
``DENSE_WEIGHT`` towards the more confident retriever (docs/ranking.md has the
alternatives that were measured, per-archive calibration among them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key")

MODES = ("hybrid", "dense", "bm25")
DENSE_WEIGHT = 0.7
# How far the weight moves with the retrievers' relative confidence, and its bounds.
CONFIDENCE_GAIN = 1.0
WEIGHT_BOUNDS = (0.05, 0.95)


@dataclass(frozen=True)
class Scored:
    row: int
    score: float  # what the ranking used: fused, dense cosine or BM25
    dense: float | None  # cosine of the paragraph's best window, when it was a candidate
    lexical: float | None  # BM25 score, when it was a candidate


def normalised(ranked: Sequence[tuple[Key, float]]) -> dict[Key, float]:
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    if high - low < 1e-9:
        return {row: 1.0 for row, _ in ranked}
    return {row: (score - low) / (high - low) for row, score in ranked}


def leader_margin(ranked: Sequence[tuple[object, float]]) -> float:
    """How many standard deviations the best score stands above the list's mean."""
    if len(ranked) < 3:
        return 0.0
    scores = [score for _, score in ranked]
    mean = sum(scores) / len(scores)
    spread = (sum((score - mean) ** 2 for score in scores) / len(scores)) ** 0.5
    return (scores[0] - mean) / spread if spread > 1e-9 else 0.0


def adaptive_weight(
    dense: Sequence[tuple[object, float]],
    lexical: Sequence[tuple[object, float]],
    base: float | None = None,
) -> float:
    """The dense weight for one question: ``base`` (default ``DENSE_WEIGHT``), moved towards
    the surer retriever."""
    if base is None:
        base = DENSE_WEIGHT
    if not lexical:
        return 1.0
    if not dense:
        return 0.0
    dense_margin, lexical_margin = leader_margin(dense), leader_margin(lexical)
    total = dense_margin + lexical_margin
    shift = CONFIDENCE_GAIN * (dense_margin - lexical_margin) / total if total > 1e-9 else 0.0
    low, high = WEIGHT_BOUNDS
    return min(high, max(low, base + shift))


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    dense_weight: float | None = None,
) -> list[Scored]:
    """Both lists best first -> one list best first (ties keep dense order).

    ``dense_weight`` None adapts it to the question (``adaptive_weight``).
    """
    if dense_weight is None:
        dense_weight = adaptive_weight(dense, lexical)
    dense_raw, lexical_raw = dict(dense), dict(lexical)
    dense_norm, lexical_norm = normalised(dense), normalised(lexical)
    rows = list(dict.fromkeys([row for row, _ in dense] + [row for row, _ in lexical]))
    fused = [
        Scored(
            row=row,
            score=dense_weight * dense_norm.get(row, 0.0)
            + (1 - dense_weight) * lexical_norm.get(row, 0.0),
            dense=dense_raw.get(row),
            lexical=lexical_raw.get(row),
        )
        for row in rows
    ]
    return sorted(fused, key=lambda item: -item.score)


def single(ranked: Sequence[tuple[int, float]], *, is_dense: bool) -> list[Scored]:
    return [
        Scored(row, score, score if is_dense else None, None if is_dense else score)
        for row, score in ranked
    ]
