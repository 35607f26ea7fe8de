"""Dates as a tie-breaker: 'the latest on …' puts the newest relevant story first, and a
question whose time words name a range that holds nothing gets the nearest dates first.

The prior acts only on questions that ask for it (qa.search.timeframe.wants_recent,
qa.search.timeframe.asks_latest) or on a range that held no article; every other question
keeps its ranking exactly, which the shared evaluation sets check (docs/time.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol, TypeVar

# Candidates whose score is within this fraction of a block's best count as answering about
# equally well. Fused scores are 0..1 with the leader at 1, so 0.1 reorders only near ties:
# what "current" gets ("the current president" names a role, not a wish for the newest news).
RECENCY_MARGIN = 0.1
# Candidates scoring at least half the leader's count as on the question's topic. "The
# latest on X" and a range that held nothing ask for a date among the stories on X, not
# for the story that repeats X's words best; half keeps stories that merely share a word
# (a paragraph's score is half its story's, "Retrieval modes" step 2) out of the block.
TOPIC_MARGIN = 0.5


class _HasScore(Protocol):
    @property
    def score(self) -> float: ...


Item = TypeVar("Item", bound=_HasScore)


def prefer_recent(
    items: Sequence[Item],
    published_of: Callable[[Item], str | None],
    margin: float = RECENCY_MARGIN,
) -> list[Item]:
    """``items`` (best first) with each block of scores within ``margin`` of its best
    re-ordered newest first; undated items go last in their block, and the blocks keep their
    order."""
    return _by_date(items, published_of, lambda day: -day.toordinal(), margin)


def prefer_near(
    items: Sequence[Item],
    published_of: Callable[[Item], str | None],
    first: str | None,
    last: str | None,
    margin: float = TOPIC_MARGIN,
) -> list[Item]:
    """``items`` (best first) with each block of scores within ``margin`` of its best
    re-ordered by how many days their date lies outside ``first``..``last`` (ISO dates,
    inclusive; None is open), nearest first; undated items go last in their block."""
    low = date.fromisoformat(first) if first else None
    high = date.fromisoformat(last) if last else None

    def distance(day: date) -> int:
        if low is not None and day < low:
            return (low - day).days
        if high is not None and day > high:
            return (day - high).days
        return 0

    return _by_date(items, published_of, distance, margin)


def _by_date(
    items: Sequence[Item],
    published_of: Callable[[Item], str | None],
    key: Callable[[date], int],
    margin: float,
) -> list[Item]:
    remaining = list(items)
    ordered: list[Item] = []
    while remaining:
        lead = remaining[0].score
        floor = lead - margin * abs(lead)
        block = [item for item in remaining if item.score >= floor]
        remaining = [item for item in remaining if item.score < floor]
        days = [(item, _day(published_of(item))) for item in block]
        # A stable sort keeps the ranking's order among equal keys.
        dated = sorted(
            ((item, day) for item, day in days if day is not None), key=lambda pair: key(pair[1])
        )
        ordered += [item for item, _ in dated] + [item for item, day in days if day is None]
    return ordered


def _day(published: str | None) -> date | None:
    if not published:
        return None
    try:
        return date.fromisoformat(published)
    except ValueError:
        return None
