"""Passage order among close candidates, from evidence the scores do not see.

Retrieval scores say a paragraph is *about* the question; they cannot say it *answers* it.
Two cheap signals do: a paragraph that holds the kind of answer the question asks for (a date
for "when", an amount for "how much", ...), and, for "Who is X?", the paragraph that
introduces X ("X, Dean of ... at ... University") rather than one that quotes X.
The answer-type signal only lifts candidates whose scores are close to the best, so that a
clearly better paragraph is never pushed down by a pattern; the introduction of X is looked
for among every candidate, since nothing but the name ties a question "Who is X?" to a
paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.ingest.sentences import sentence_spans
from qa.rank.answertype import answer_type, answers_near_question
from qa.rank.fusion import Scored

# Candidates scoring at least this share of the best one count as close.
CLOSE_RATIO = 0.85
# How many of the top candidates are considered for reordering.
CLOSE_WINDOW = 5
# "Who is X?" names nothing but X, so retrieval scores barely tell apart the paragraphs that
# mention X, and a long paragraph that introduces X ("X, Director of ...", then a page of
# what X thinks) scores below the short ones that quote X. News introduces a person once, at
# the first mention, and that paragraph is the answer: it is looked for among every
# candidate, however far down.

_WHO_IS = re.compile(
    r"^\s*(?:[Ww]ho|[Ww]hat)\s+(?:is|was|are|were)\s+(?P<name>(?:[A-Z][\w'’.-]*\s*){1,5})\s*\??\s*$"
)
# What may follow "Name," in an appositive: a title, an article, a role ("chief of", ...).
_INTRODUCING_WORDS = (
    r"(?:who|the|a|an|[A-Z][\w'’-]*|\d[\w-]*"
    r"|[a-z][\w'’-]*(?:\s+[a-z][\w'’-]*){0,2}\s+(?:of|at|for|in))"
)
_NOT_APPOSITIVE = frozenset("said says added told wrote asked explained noted".split())


def who_is_subject(question: str) -> str | None:
    """The name in "Who is Jane Doe?" (capitalised, one to five words), else None."""
    match = _WHO_IS.match(question)
    return " ".join(match.group("name").split()) if match else None


def introduces(text: str, name: str) -> bool:
    """Whether ``text`` introduces ``name``: an appositive ("Jane Doe, Dean of ...") or a
    definition ("Jane Doe is a ..."), by the full name or its last word."""
    for form in dict.fromkeys([name, name.split()[-1]]):
        pattern = re.compile(
            re.escape(form)
            + r"(?:\s*\([^)]{1,40}\))?(?:\s*,\s*(?P<apposition>"
            + _INTRODUCING_WORDS
            + r")|\s+(?:is|was)\s+(?:a|an|the)\s)"
        )
        for match in pattern.finditer(text):
            word = (match.group("apposition") or "").split()[:1]
            if not word or word[0].lower() not in _NOT_APPOSITIVE:
                return True
    return False


def has_evidence(text: str, question: str) -> bool:
    """Whether a paragraph holds answer evidence for the question (see module docstring)."""
    subject = who_is_subject(question)
    if subject is not None:
        return introduces(text, subject)
    kind = answer_type(question)
    if kind is None:
        return False
    return any(
        answers_near_question(text[start:end], kind, question)
        for start, end in sentence_spans(text)
    )


def boost_by_evidence(
    items: Sequence[Scored], question: str, text_of: Callable[[int], str]
) -> list[Scored]:
    """``items`` best first, the close leaders with evidence lifted above those without.

    A close candidate (score >= ``CLOSE_RATIO`` x the best, among the first ``CLOSE_WINDOW``;
    for "Who is X?" every candidate) with evidence gains the gap a close candidate can have,
    so it passes every candidate without evidence and keeps its order among those with it; a
    candidate further behind is never lifted.
    """
    who_is = who_is_subject(question) is not None
    if len(items) < 2 or (not who_is and answer_type(question) is None):
        return list(items)
    best = items[0].score
    if best <= 0:
        return list(items)
    ratio, window = (0.0, len(items)) if who_is else (CLOSE_RATIO, CLOSE_WINDOW)
    lift = (1 - ratio) * best
    boosted = [
        replace(item, score=item.score + lift)
        if rank < window
        and item.score >= ratio * best
        and has_evidence(text_of(item.row), question)
        else item
        for rank, item in enumerate(items)
    ]
    # Back to the scale that came in (the leader keeps the best score), so that a lifted
    # "Who is X?" paragraph does not show a score above the others' range.
    scale = best / max(item.score for item in boosted)
    return sorted(
        (replace(item, score=item.score * scale) for item in boosted), key=lambda item: -item.score
    )
