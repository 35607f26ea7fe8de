"""The first passages ordered by the sentence that answers, not only by the paragraph's score.

Retrieval scores a paragraph as a whole (one embedding, BM25 over all its words), so a
paragraph that restates the question can outrank the one with the sentence that answers it;
and in a story cut into short paragraphs, the paragraph that scores best may be a dateline
("CNN —") or a caption lifted by the headline that every window carries. Two steps reorder
the leaders by their sentences' evidence (``qa.rank.highlight.sentence_evidence``):

1. Each story's place among the first ``WINDOW`` goes to that story's paragraph, among the
   first ``STORY_WINDOW`` candidates, whose best sentence has the most evidence. Stories keep
   their places, so which articles are shown, and in what order, does not change here.
2. Each of the first ``WINDOW`` candidates then gains ``SENTENCE_WEIGHT`` x its best
   sentence's evidence, its score taken relative to the leader's; a candidate further down is
   not lifted.

The story step comes first so that a story's place is held by the paragraph that will be
shown for it: copies of one wire story, whose datelines rank differently, then stay as close
as their texts are (which "the latest on ..." needs to find the newest copy).

Measured with ``byline eval`` (docs/ranking.md): SQuAD2-dev recall@1 0.818 -> 0.866
and answer_in_quote 0.737 -> 0.794; news-archive-2022 answer_in_quote 0.320 -> 0.379.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.rank.fusion import Scored

WINDOW = 5
# Chosen by scripts/fit_sentence_scores.py on its training questions (SQuAD 1.1 train,
# RealTimeQA 2020-2021): the largest smallest gain over the two (a larger lift helps SQuAD
# more and the news quiz less).
SENTENCE_WEIGHT = 0.5
STORY_WINDOW = 10

Evidence = Callable[[Sequence[int]], Sequence[float]]


def answer_first(
    items: Sequence[Scored], evidence: Evidence, article_of: Callable[[int], str]
) -> list[Scored]:
    """``items`` (best first) with the leaders reordered as the module docstring says.

    ``evidence(rows)`` gives the best sentence score of each paragraph row; it is asked only
    for the rows that can move."""
    items = list(items)
    if len(items) < 2 or items[0].score <= 0:
        return items
    leaders = [item.row for item in items[:WINDOW]]
    leader_articles = {article_of(row) for row in leaders}
    # Only later paragraphs of a leader's story can take its place in step 1.
    followers = [
        item.row for item in items[WINDOW:STORY_WINDOW] if article_of(item.row) in leader_articles
    ]
    best_sentence = dict(zip(leaders + followers, evidence(leaders + followers), strict=True))
    items = _best_paragraph_per_story(items, best_sentence, article_of)
    top = items[0].score
    relative = [
        item.score / top
        + (SENTENCE_WEIGHT * max(best_sentence[item.row], 0.0) if rank < WINDOW else 0.0)
        for rank, item in enumerate(items)
    ]
    # Back to the scale of the scores that came in: the leader keeps the best one.
    scale = top / max(relative)
    return sorted(
        (replace(item, score=scale * value) for item, value in zip(items, relative, strict=True)),
        key=lambda item: -item.score,
    )


def _best_paragraph_per_story(
    items: list[Scored], best_sentence: dict[int, float], article_of: Callable[[int], str]
) -> list[Scored]:
    """Each of the first ``WINDOW`` places keeps its score and story but takes the story's
    best-evidence paragraph among the first ``STORY_WINDOW``."""
    for place in range(min(WINDOW, len(items))):
        article = article_of(items[place].row)
        rivals = [
            other
            for other in range(place + 1, min(STORY_WINDOW, len(items)))
            if items[other].row in best_sentence and article_of(items[other].row) == article
        ]
        if items[place].row not in best_sentence or not rivals:
            continue
        best = max(rivals, key=lambda other: best_sentence[items[other].row])
        if best_sentence[items[best].row] > best_sentence[items[place].row]:
            here, there = items[place], items[best]
            items[place] = replace(there, score=here.score)
            items[best] = replace(here, score=there.score)
    return items
