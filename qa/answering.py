"""``answer``: the passages, the sentences to mark in them, and whether the archive answers
the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.highlight import highlight_spans
from qa.records import Passage
from qa.retrieval import Filters, get_retriever

# Below this cosine between the question and its best paragraph, no passage is relevant
# enough to call an answer. Fitted by scripts/fit_no_answer.py on held-out data: each shared
# dataset's own questions against its corpus (answerable) and the other datasets' questions
# against it (unanswerable); see README, "When nothing answers".
NO_ANSWER_THRESHOLD = 0.39


@dataclass(frozen=True)
class Answer:
    question: str
    passages: list[Passage]
    answered: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "reason": self.reason,
            "passages": [passage.to_dict() for passage in self.passages],
        }


def answer(
    question: str,
    k: int = 5,
    *,
    index: str | Path | None = None,
    history: Sequence[str] = (),
    article_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    mode: str = "hybrid",
) -> Answer:
    """Like ``retrieve``, plus highlighted sentences and an honest ``answered`` flag.

    When ``answered`` is False the passages are still the nearest ones, to be shown as weak.
    """
    retriever = get_retriever(index)
    filters = Filters.checked(article_id, date_from, date_to)
    passages, ranking = retriever.search(question, k, filters, mode=mode, history=history)
    if passages:
        spans = highlight_spans(passages, question, retriever.encoder, ranking.query_vector)
        passages = [replace(p, highlights=h) for p, h in zip(passages, spans, strict=True)]
    best = ranking.top_dense
    if not passages or best is None:
        scope = " matching the filters" if filters.active else ""
        return Answer(question, passages, False, f"no paragraph in the archive{scope}")
    if best < NO_ANSWER_THRESHOLD:
        return Answer(
            question,
            passages,
            False,
            f"the closest paragraph's similarity to the question is {best:.2f}, below the "
            f"{NO_ANSWER_THRESHOLD:.2f} an answer needs",
        )
    return Answer(question, passages, True, f"best paragraph similarity {best:.2f}")
