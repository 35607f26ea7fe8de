"""Never return two passages that say the same thing (a title repeated as text, a wire story
printed twice)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")
_WORD = re.compile(r"\w+")
NEAR_DUPLICATE_JACCARD = 0.8


@dataclass(frozen=True)
class _Shape:
    """What near-duplicate checks compare, computed once per text."""

    normalised: str
    words: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Shape:
        words = [word.lower() for word in _WORD.findall(text)]
        return cls(" ".join(words), frozenset(words))

    def repeats(self, other: _Shape) -> bool:
        """Same words for the most part, or one text wholly inside the other."""
        if not self.normalised or not other.normalised:
            return self.normalised == other.normalised
        # Jaccard first: it is cheap and rules most pairs out.
        union = len(self.words | other.words)
        if len(self.words & other.words) >= NEAR_DUPLICATE_JACCARD * union:
            return True
        shorter, longer = sorted((self.normalised, other.normalised), key=len)
        return shorter in longer


def near_duplicates(first: str, second: str) -> bool:
    return _Shape.of(first).repeats(_Shape.of(second))


def drop_near_duplicates(items: Sequence[Item], text_of: Callable[[Item], str]) -> list[Item]:
    """Items in order, without any that nearly repeats an earlier (better-ranked) one."""
    kept: list[Item] = []
    kept_shapes: list[_Shape] = []
    for item in items:
        shape = _Shape.of(text_of(item))
        if any(shape.repeats(earlier) for earlier in kept_shapes):
            continue
        kept.append(item)
        kept_shapes.append(shape)
    return kept
