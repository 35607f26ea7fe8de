"""Per-archive fusion weight from questions made from the archive: the alternative to the
question-adaptive weight (qa/rank/fusion.py) that was measured and not kept.

Result (docs/ranking.md): it picked 0.8 for SQuAD, whose real questions want 0.5,
and 0.5 for the news quiz, whose real questions want 0.7. Sentences held out of their
paragraph are a different kind of question from a reader's.

    python scripts/fusion_calibration.py ../shared/eval/squad2-dev ../shared/eval/scifact

The idea: BM25 wins on archives whose questions reuse the text's words (SciFact, SQuAD,
MultiHop-RAG); dense retrieval wins on news quizzes that paraphrase. No single weight is best
for both, so a build would ask the archive itself: hold one sentence out of a sample of
paragraphs, use it as the question, and score how well each candidate weight finds the
paragraph it came from (now without that sentence, so that no retriever can match it word for
word). The weight with the best mean reciprocal rank would be recorded in the manifest.

No paragraph is re-indexed: the held-out paragraph's dense and BM25 scores are computed
directly (its embedding, and BM25 with the index's document frequencies), and it competes
with the real index's candidates, its original paragraph excluded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from embeddings.encoder import Encoder
from qa.index.lexical import LexicalIndex, lexical_text
from qa.ingest.sentences import sentence_spans
from qa.rank.followup import content_words
from qa.rank.fusion import DENSE_WEIGHT, fuse
from qa.records import Paragraph

WEIGHT_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SAMPLE_SIZE = 240
# Below this many usable pseudo-questions the estimate is noise: keep the default weight.
MIN_QUESTIONS = 40
MIN_QUESTION_WORDS = 5
POOL = 100
_LENGTH_SAMPLE = 5000

# (row, score) best first for a query, the original paragraph not yet excluded.
Searcher = Callable[[str, np.ndarray], tuple[list[tuple[int, float]], list[tuple[int, float]]]]


@dataclass(frozen=True)
class Calibration:
    dense_weight: float
    method: str  # "held-out sentences" or why the default was kept
    questions: int
    mrr_by_weight: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def default(cls, why: str) -> Calibration:
        return cls(DENSE_WEIGHT, why, 0, {})

    @classmethod
    def from_manifest(cls, data: object) -> Calibration | None:
        if not isinstance(data, dict):
            return None
        weight = data.get("dense_weight")
        if not isinstance(weight, int | float) or not 0 <= weight <= 1:
            return None
        return cls(
            float(weight),
            str(data.get("method", "")),
            int(data.get("questions", 0)),
            dict(data.get("mrr_by_weight", {})),
        )


@dataclass(frozen=True)
class _Probe:
    row: int
    question: str
    remainder: str  # the paragraph without the question sentence, as it would be indexed


def _order_key(paragraph: Paragraph) -> str:
    # A content hash, not random: the same archive always gets the same sample.
    return hashlib.sha256(f"{paragraph.article_id}:{paragraph.index}".encode()).hexdigest()


def _probes(paragraphs: Sequence[Paragraph], size: int) -> list[_Probe]:
    order = sorted(range(len(paragraphs)), key=lambda row: _order_key(paragraphs[row]))
    probes: list[_Probe] = []
    for row in order:
        if len(probes) >= size:
            break
        paragraph = paragraphs[row]
        spans = sentence_spans(paragraph.text)
        if len(spans) < 2:
            continue
        # The sentence with the most content words: the most question-like information.
        pick = max(
            range(len(spans)), key=lambda i: len(content_words(paragraph.text[slice(*spans[i])]))
        )
        start, end = spans[pick]
        question = paragraph.text[start:end]
        remainder = (paragraph.text[:start] + " " + paragraph.text[end:]).strip()
        if len(content_words(question)) < MIN_QUESTION_WORDS or len(content_words(remainder)) < 3:
            continue
        probes.append(_Probe(row, question, remainder))
    return probes


class _Bm25Scorer:
    """BM25 of one text that is not in the index, with the index's statistics."""

    def __init__(self, lexical: LexicalIndex, texts: Sequence[str]) -> None:
        self.lexical = lexical
        step = max(1, len(texts) // _LENGTH_SAMPLE)
        lengths = [len(tokens) for tokens in lexical.tokenize(texts[::step])]
        self.average_length = max(1.0, sum(lengths) / max(1, len(lengths)))

    def score(self, query: str, text: str) -> float:
        # Repeated query words count each time, as they do in the index's own search.
        query_tokens = self.lexical.tokenize([query])[0]
        counts = Counter(self.lexical.tokenize([text])[0])
        length = sum(counts.values())
        total = 0.0
        norm = self.lexical.k1 * (
            1 - self.lexical.b + self.lexical.b * length / self.average_length
        )
        for token in query_tokens:
            frequency = counts.get(token, 0)
            if not frequency:
                continue
            total += self.lexical.idf(token) * frequency / (norm + frequency)
        return total


def _insert(ranked: list[tuple[int, float]], row: int, score: float) -> list[tuple[int, float]]:
    """The list without the original paragraph, with its held-out version (row -1) scored in."""
    kept = [(r, s) for r, s in ranked if r != row]
    if score <= 0 and not kept:
        return kept
    kept.append((-1, score))
    kept.sort(key=lambda item: -item[1])
    return kept[: len(ranked) or 1]


def calibrate(
    paragraphs: Sequence[Paragraph],
    lexical: LexicalIndex,
    encoder: Encoder,
    search: Searcher,
    *,
    sample_size: int = SAMPLE_SIZE,
) -> Calibration:
    """The dense weight of ``WEIGHT_GRID`` that best finds held-out paragraphs."""
    probes = _probes(paragraphs, sample_size)
    if len(probes) < MIN_QUESTIONS:
        return Calibration.default(
            f"default kept: {len(probes)} pseudo-questions, fewer than the {MIN_QUESTIONS} a "
            "calibration needs"
        )
    questions = encoder.encode([p.question for p in probes])
    remainders = encoder.encode(
        [lexical_text(paragraphs[p.row].title, p.remainder) for p in probes]
    )
    scorer = _Bm25Scorer(lexical, [lexical_text(p.title, p.text) for p in paragraphs])
    reciprocal = {weight: 0.0 for weight in WEIGHT_GRID}
    for probe, vector, remainder_vector in zip(probes, questions, remainders, strict=True):
        dense, bm25 = search(probe.question, vector)
        held_out_text = lexical_text(paragraphs[probe.row].title, probe.remainder)
        dense = _insert(dense, probe.row, float(vector @ remainder_vector))
        bm25 = _insert(bm25, probe.row, scorer.score(probe.question, held_out_text))
        for weight in WEIGHT_GRID:
            order = [item.row for item in fuse(dense, bm25, weight)[:10]]
            if -1 in order:
                reciprocal[weight] += 1 / (order.index(-1) + 1)
    mrr = {weight: total / len(probes) for weight, total in reciprocal.items()}
    # Ties go to the weight nearest the global default, which is the safer guess.
    best = max(WEIGHT_GRID, key=lambda w: (round(mrr[w], 3), -abs(w - DENSE_WEIGHT)))
    return Calibration(
        dense_weight=best,
        method="held-out sentences",
        questions=len(probes),
        mrr_by_weight={f"{weight:.1f}": round(value, 4) for weight, value in mrr.items()},
    )


def main(folders: Sequence[str]) -> None:
    from qa.eval.beir import load_dataset
    from qa.eval.evaluation import prepare_index
    from qa.search.retrieval import Filters, Retriever

    for folder in folders:
        retriever = prepare_index(load_dataset(folder))

        def search(
            question: str, vector: np.ndarray, retriever: Retriever = retriever
        ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
            return (
                retriever.dense_scores(vector, POOL, Filters()),
                retriever.lexical_scores(question, POOL, Filters()),
            )

        result = calibrate(
            retriever.index.paragraphs, retriever.index.lexical, retriever.encoder, search
        )
        print(folder, result.to_dict(), flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
