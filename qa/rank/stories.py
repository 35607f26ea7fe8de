"""Story context: whole news stories come cut into short paragraphs, and the paragraph that
answers often lacks the question's names, which stand in the headline, the lead or the rest
of the story. So a paragraph's score is mixed with its story's, and the first passages come
from different stories unless one story is clearly ahead.

The story's score fuses, with a question-adaptive weight as for paragraphs, the best dense
cosine of any of its paragraphs and BM25 over the whole story text (headline included;
a separate BM25 index over articles, saved with each index version). On an archive where
every article is one paragraph (the passage-level sets) nothing changes: the story is the
paragraph.

Measured on news-archive-2022 (docs/ranking.md, step 2): the gold story among the top 5
passages for 0.796 of questions without this, 0.913 with it; nDCG@10 0.741 -> 0.792.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa.index.lexical import LexicalIndex
from qa.rank.fusion import Scored, adaptive_weight, normalised
from qa.records import Paragraph

# Share of a paragraph's final score that comes from its story.
STORY_WEIGHT = 0.5
# The dense weight a story's fusion starts from, before it adapts to the question: BM25 over
# a whole story sees every name in it, a stronger signal than over one short paragraph, while
# the dense side is one paragraph's cosine (news-archive-2022: nDCG@10 0.792 from 0.4 against
# 0.771 from the paragraphs' 0.7; the gold story in the top 5 passages 0.913 against 0.883).
STORY_DENSE_WEIGHT = 0.4
# Each further paragraph of a story already ranked above keeps this share of its score, so a
# second paragraph of the same story must be clearly better than another story's best.
REPEAT_FACTOR = 0.5


@dataclass(frozen=True)
class StoryEvidence:
    """Each candidate story's best paragraph cosine and its BM25 over the whole story."""

    cosine: dict[str, float]  # article id -> best cosine of its paragraphs
    ranked_lexical: list[tuple[str, float]]  # article id, story BM25, best first

    @property
    def ranked_dense(self) -> list[tuple[str, float]]:
        """``cosine`` best first."""
        return sorted(self.cosine.items(), key=lambda pair: -pair[1])


def story_evidence(
    items: Sequence[Scored],
    paragraphs: Sequence[Paragraph],
    dense: Sequence[tuple[int, float]],
    story_lexical: LexicalIndex,
    story_ids: Sequence[str],
    lexical_text: str,
    pool: int,
) -> StoryEvidence:
    best_dense: dict[str, float] = {}
    for row, score in dense:
        best_dense.setdefault(paragraphs[row].article_id, score)
    for item in items:  # a BM25-only candidate's story still counts with its own cosine
        if item.dense is not None:
            article = paragraphs[item.row].article_id
            best_dense[article] = max(best_dense.get(article, item.dense), item.dense)
    ranked_lexical = [
        (story_ids[row], score) for row, score in story_lexical.search(lexical_text, pool)
    ]
    return StoryEvidence(best_dense, ranked_lexical)


def story_scores(evidence: StoryEvidence) -> dict[str, float]:
    """Fused score of each candidate story, keyed by article id."""
    ranked_dense, ranked_lexical = evidence.ranked_dense, evidence.ranked_lexical
    weight = adaptive_weight(ranked_dense, ranked_lexical, STORY_DENSE_WEIGHT)
    dense_norm, lexical_norm = normalised(ranked_dense), normalised(ranked_lexical)
    return {
        article: weight * dense_norm.get(article, 0.0)
        + (1 - weight) * lexical_norm.get(article, 0.0)
        for article in set(dense_norm) | set(lexical_norm)
    }


def with_story_context(
    items: Sequence[Scored], paragraphs: Sequence[Paragraph], stories: dict[str, float]
) -> list[Scored]:
    """Paragraph scores mixed with their story's, best first."""
    return sorted(
        (
            replace(
                item,
                score=(1 - STORY_WEIGHT) * item.score
                + STORY_WEIGHT * stories.get(paragraphs[item.row].article_id, 0.0),
            )
            for item in items
        ),
        key=lambda item: -item.score,
    )


def damp_repeats(items: Sequence[Scored], paragraphs: Sequence[Paragraph]) -> list[Scored]:
    """Each further paragraph of a story keeps ``REPEAT_FACTOR`` of its score, best first."""
    seen: defaultdict[str, int] = defaultdict(int)
    damped = []
    for item in sorted(items, key=lambda item: -item.score):
        article = paragraphs[item.row].article_id
        damped.append(replace(item, score=item.score * REPEAT_FACTOR ** seen[article]))
        seen[article] += 1
    return sorted(damped, key=lambda item: -item.score)
