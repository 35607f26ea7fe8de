"""Does the archive answer the question? Evidence from more than one cosine.

A high cosine says the archive is on the question's topic; it does not say the answer is
there. "What is the population of Sydney?" asked of an archive about Sydney's bridge has a
close paragraph and no answer. So three kinds of evidence are combined:

- ``top_cosine``: the best cosine between the question and any allowed paragraph;
- ``coverage``: the share of the question's rarity (BM25's IDF) that the first passage holds:
  an answering paragraph names what the question names;
- ``type_missing``: the question asks for a kind of answer (a date, an amount, a name, a
  place) and no sentence of the first passage holds one.

They are combined by a logistic model fitted by ``scripts/fit_no_answer.py`` on held-out
shared data (docs/answering.md); the coefficients live here so that the product
needs no fitting at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qa.index.lexical import LexicalIndex
from qa.ingest.sentences import sentence_spans
from qa.rank.answertype import answer_type, holds_answer_type
from qa.rank.coverage import idf_coverage

# Fitted by scripts/fit_no_answer.py on 2026-12-01 (its report is in docs/answering.md), on the
# ranking with qa.rank.answer_first; features in the order of ``Evidence.features``. The
# answer-type feature came out near zero: on these sets a missing date or amount in passage 1
# says little that the other two do not.
COEFFICIENTS = (18.009, 6.629, -0.066)
INTERCEPT = -9.763
# The probability at and above which a question counts as answered.
DECISION = 0.5


@dataclass(frozen=True)
class Evidence:
    top_cosine: float
    coverage: float
    type_missing: bool

    @property
    def features(self) -> tuple[float, float, float]:
        return (self.top_cosine, self.coverage, float(self.type_missing))

    @property
    def probability(self) -> float:
        """Estimated probability that the archive answers the question."""
        z = INTERCEPT + sum(c * f for c, f in zip(COEFFICIENTS, self.features, strict=True))
        return 1 / (1 + math.exp(-z))

    @property
    def answered(self) -> bool:
        return self.probability >= DECISION

    def explain(self) -> str:
        parts = [f"best paragraph similarity {self.top_cosine:.2f}"]
        parts.append(f"{self.coverage:.0%} of the question's rare terms in passage 1")
        if self.type_missing:
            parts.append("passage 1 holds no answer of the kind asked for")
        return ", ".join(parts)


def gather_evidence(
    question: str, top_cosine: float, passage_text: str, lexical: LexicalIndex
) -> Evidence:
    kind = answer_type(question)
    missing = kind is not None and not any(
        holds_answer_type(passage_text[start:end], kind, question)
        for start, end in sentence_spans(passage_text)
    )
    return Evidence(top_cosine, idf_coverage(question, passage_text, lexical), missing)
