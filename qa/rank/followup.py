"""Follow-up questions without a language model.

"Why was it postponed before?" says nothing of what "it" is; the earlier question does. When
a question leans on the conversation (a pronoun or deictic word, or almost no content words of
its own) the query borrows the last question: its content words are added to the BM25 query
and its embedding is blended into the dense one. A self-contained question is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CONTEXT_WEIGHT = 0.5
_WORD = re.compile(r"[\w'-]+")
_REFERRING = frozenset(
    "it its it's they them their theirs he him his she her hers this that these those there "
    "then such same former latter again before earlier also".split()
)
_FUNCTION_WORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how if in "
    "into is it not of on or should so than the to was were what when where which who whom "
    "whose why will with would about after any all more most other some very just only own "
    "i me my we our you your us".split()
)
_MIN_CONTENT_WORDS = 3


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in _words(text) if w not in _FUNCTION_WORDS and w not in _REFERRING]


def needs_context(question: str) -> bool:
    words = _words(question)
    refers = any(word in _REFERRING for word in words)
    return refers or len(content_words(question)) < _MIN_CONTENT_WORDS


@dataclass(frozen=True)
class Query:
    dense_text: str
    lexical_text: str
    context_text: str | None = None  # blended into the dense query when set

    @classmethod
    def for_turn(cls, question: str, history: Sequence[str]) -> Query:
        earlier = [turn for turn in history if isinstance(turn, str) and turn.strip()]
        if not earlier or not needs_context(question):
            return cls(question, question)
        previous = earlier[-1]
        own = set(content_words(question))
        borrowed = [w for w in dict.fromkeys(content_words(previous)) if w not in own]
        if not borrowed:
            return cls(question, question)
        return cls(
            dense_text=question,
            lexical_text=f"{question} {' '.join(borrowed)}",
            context_text=previous,
        )
