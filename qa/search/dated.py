"""The search behind ``retrieve`` and ``answer`` once the question's time words are read
(qa.search.timeframe): the range they name, or every date when that range holds no article."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from qa.rank.recency import prefer_near
from qa.records import Passage
from qa.search.retrieval import Filters, Ranking, Retriever
from qa.search.timeframe import DateRange, nearest_dates

# How many times k passages the search behind an empty range's fallback gathers, so that
# stories on the topic dated nearer the range can come forward.
NEAREST_POOL = 3


def search_in_range(
    retriever: Retriever,
    question: str,
    searched: str,
    found: DateRange | None,
    k: int,
    article_id: str | None,
    mode: str,
    history: Sequence[str],
) -> tuple[list[Passage], Ranking, DateRange | None, str]:
    """Passages, their ranking, the range as it was used and the text that was searched."""
    filters = Filters.checked(article_id, *(found.bounds if found else (None, None)))
    passages, ranking = retriever.search(searched, k, filters, mode=mode, history=history)
    if passages or found is None or not found.inferred:
        return passages, ranking, found, searched
    # A guessed range that holds nothing must not hide the archive: undated articles and an
    # archive that ended before as_of would otherwise answer no question with a time word.
    before, after = nearest_dates(_published(retriever), found)
    found = replace(found, empty=True, nearest_before=before, nearest_after=after)
    filters = Filters.checked(article_id, None, None)
    # The range still says when the asker looks: among the passages on the topic, those
    # dated nearest to it come first, from a wider pool than the k shown.
    passages, ranking = retriever.search(
        question, k * NEAREST_POOL, filters, mode=mode, history=history
    )
    near = prefer_near(passages, lambda passage: passage.published, *found.bounds)
    passages = [replace(passage, rank=rank) for rank, passage in enumerate(near[:k], 1)]
    return passages, ranking, found, question


def _published(retriever: Retriever) -> list[str]:
    rows = retriever.index.articles.values()
    return sorted({str(row["published"]) for row in rows if row.get("published")})


def nothing_in_range(retriever: Retriever, wanted: DateRange) -> str:
    """Why nothing came back from a range, with the archive's nearest dates to try."""
    published = _published(retriever)
    before, after = nearest_dates(published, wanted)
    nearest = [f"{day} ({side})" for side, day in (("before", before), ("after", after)) if day]
    offer = f"; the nearest dates in the archive: {' and '.join(nearest)}" if nearest else ""
    if not published:
        offer = "; no article in the archive has a date"
    return f"nothing in the archive is dated in the range searched, {wanted.describe()}{offer}"
