"""'The latest on …': among candidates that answer about equally well, the newest first.

The prior acts only on questions that ask for it (qa.search.timeframe.wants_recent); every other
question keeps its ranking exactly, which the shared evaluation sets check (README, "Time in
questions").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

# Candidates whose score is within this fraction of a block's best count as answering about
# equally well. Fused scores are 0..1 with the leader at 1, so 0.1 reorders only near ties;
# a wider margin let an old article that merely shared the topic jump a better answer.
RECENCY_MARGIN = 0.1


class _HasScore(Protocol):
    @property
    def score(self) -> float: ...


Item = TypeVar("Item", bound=_HasScore)


def prefer_recent(items: Sequence[Item], published_of: Callable[[Item], str | None]) -> list[Item]:
    """``items`` (best first) with each block of near-equal scores re-ordered newest first;
    undated items go last in their block, and the blocks keep their order."""
    remaining = list(items)
    ordered: list[Item] = []
    while remaining:
        lead = remaining[0].score
        floor = lead - RECENCY_MARGIN * abs(lead)
        block = [item for item in remaining if item.score >= floor]
        rest = [item for item in remaining if item.score < floor]
        # ISO dates sort as text; a stable sort keeps the ranking's order among equal dates.
        dated = sorted(
            (item for item in block if published_of(item)),
            key=lambda item: published_of(item) or "",
            reverse=True,
        )
        ordered += dated + [item for item in block if not published_of(item)]
        remaining = rest
    return ordered
