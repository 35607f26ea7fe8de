"""``answer``: the passages, the sentences to mark in them, and whether the archive answers
the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from qa.rank.highlight import ranked_highlights
from qa.records import Passage
from qa.reply.answerability import gather_evidence
from qa.search.dated import nothing_in_range, search_in_range
from qa.search.query import get_retriever
from qa.search.timeframe import DateRange, frame_question


@dataclass(frozen=True)
class Answer:
    """What ``answer`` returns: the passages, best first, with their answer sentences
    highlighted; whether the archive answers (``answered``, with the evidence in ``reason``);
    the sentence the reply opens with (``quote``, a source span); and the date range searched.
    """

    question: str
    passages: list[Passage]
    answered: bool
    reason: str
    # Source span of the sentence the reply opens with: passage 1's best sentence, the one
    # most likely to hold the answer. None when there is nothing to quote.
    quote: tuple[int, int] | None = None
    # The published-date range searched: inferred from the question's time words or the
    # user's own filter; None when every date was searched.
    date_range: DateRange | None = None

    @property
    def quote_text(self) -> str | None:
        """The text of ``quote``: passage 1's best sentence, or None when nothing is quoted."""
        if self.quote is None or not self.passages:
            return None
        first = self.passages[0]
        start, end = self.quote
        return first.text[start - first.start : end - first.start]

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data, what ``byline ask --json`` and ``/ask`` print."""
        return {
            "question": self.question,
            "answered": self.answered,
            "reason": self.reason,
            "quote": self.quote_text,
            "quote_span": list(self.quote) if self.quote else None,
            "date_range": self.date_range.to_dict() if self.date_range else None,
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
    as_of: str | date | None = None,
    infer_dates: bool = True,
    store: str | None = None,
) -> Answer:
    """Like ``retrieve``, plus highlighted sentences and an honest ``answered`` flag.

    When ``answered`` is False the passages are still the nearest ones, to be shown as weak.
    ``as_of`` and ``infer_dates`` as for ``retrieve``; ``date_range`` says which range was
    searched. ``store`` as for ``retrieve``.
    """
    # Before the index loads: a bad as_of is reported at once.
    text, found = frame_question(question, date_from, date_to, as_of, infer_dates)
    retriever = get_retriever(index, store=store)
    passages, ranking, found, searched = search_in_range(
        retriever,
        question,
        text if isinstance(text, str) else question,
        found,
        k,
        article_id,
        mode,
        history,
    )
    quote = None
    if passages:
        ranked = ranked_highlights(
            passages, searched, retriever.encoder, retriever.index.lexical, ranking.query_vector
        )
        passages = [replace(p, highlights=h) for p, (h, _) in zip(passages, ranked, strict=True)]
        quote = ranked[0][1]
    best = ranking.top_dense
    if not passages or best is None:
        scope = " matching the filters" if article_id else ""
        reason = f"no paragraph in the archive{scope}"
        if found is not None:
            reason = nothing_in_range(retriever, found)
        return Answer(question, passages, False, reason, quote, found)
    evidence = gather_evidence(
        ranking.lexical_text,
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
            found,
        )
    return Answer(question, passages, True, evidence.explain(), quote, found)
