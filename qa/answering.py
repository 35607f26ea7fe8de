"""``answer``: the passages, the sentences to mark in them, and whether the archive answers
the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.answerability import gather_evidence
from qa.highlight import ranked_highlights
from qa.records import Passage
from qa.retrieval import Filters, clean_question, get_retriever


@dataclass(frozen=True)
class Answer:
    question: str
    passages: list[Passage]
    answered: bool
    reason: str
    # Source span of the sentence the reply opens with: passage 1's best sentence, the one
    # most likely to hold the answer. None when there is nothing to quote.
    quote: tuple[int, int] | None = None

    @property
    def quote_text(self) -> str | None:
        if self.quote is None or not self.passages:
            return None
        first = self.passages[0]
        start, end = self.quote
        return first.text[start - first.start : end - first.start]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "reason": self.reason,
            "quote": self.quote_text,
            "quote_span": list(self.quote) if self.quote else None,
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
    quote = None
    if passages:
        ranked = ranked_highlights(passages, question, retriever.encoder, ranking.query_vector)
        passages = [replace(p, highlights=h) for p, (h, _) in zip(passages, ranked, strict=True)]
        quote = ranked[0][1]
    best = ranking.top_dense
    if not passages or best is None:
        scope = " matching the filters" if filters.active else ""
        return Answer(question, passages, False, f"no paragraph in the archive{scope}", quote)
    evidence = gather_evidence(
        ranking.lexical_text or clean_question(question),
        best,
        passages[0].text,
        retriever.index.lexical,
    )
    if not evidence.answered:
        return Answer(
            question,
            passages,
            False,
            f"the evidence is too weak ({evidence.explain()}; "
            f"{evidence.probability:.0%} likely to answer)",
            quote,
        )
    return Answer(question, passages, True, evidence.explain(), quote)
