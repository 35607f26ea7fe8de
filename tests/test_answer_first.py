"""The first passages ordered by the sentence that answers (qa.rank.answer_first) and the sentence
evidence behind it (qa.rank.highlight), pinned on small hand-written text."""

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import qa
import qa.search.retrieval
from qa.index.lexical import LexicalIndex
from qa.rank.answer_first import STORY_WINDOW, WINDOW, answer_first
from qa.rank.fusion import Scored
from qa.rank.highlight import sentence_evidence


def _items(scores: Sequence[float]) -> list[Scored]:
    return [Scored(row, score, None, None) for row, score in enumerate(scores)]


class _Evidence:
    """Best-sentence scores by row, remembering which rows were asked for."""

    def __init__(self, by_row: dict[int, float]) -> None:
        self.by_row = by_row
        self.asked: list[int] = []

    def __call__(self, rows: Sequence[int]) -> list[float]:
        self.asked.extend(rows)
        return [self.by_row.get(row, 0.0) for row in rows]


def test_a_close_leader_whose_sentence_answers_comes_first() -> None:
    evidence = _Evidence({0: 0.2, 1: 1.2, 2: 0.1})
    ranked = answer_first(_items([1.0, 0.9, 0.8]), evidence, str)
    assert [item.row for item in ranked] == [1, 0, 2]


def test_a_clearly_better_paragraph_keeps_its_place() -> None:
    evidence = _Evidence({0: 0.2, 1: 1.2})
    ranked = answer_first(_items([1.0, 0.3]), evidence, str)
    assert [item.row for item in ranked] == [0, 1]


def test_candidates_below_the_window_are_not_lifted_nor_scored() -> None:
    scores = [1.0 - 0.01 * rank for rank in range(WINDOW + 3)]
    evidence = _Evidence({WINDOW + 1: 5.0})
    ranked = answer_first(_items(scores), evidence, str)  # every row its own story
    assert [item.row for item in ranked[:WINDOW]] == list(range(WINDOW))
    assert sorted(evidence.asked) == list(range(WINDOW))


def test_a_story_keeps_its_place_with_its_best_answering_paragraph() -> None:
    # Rows 0 and 7 are one story ("a"); the others are stories of their own.
    stories = {0: "a", 7: "a"}
    scores = [1.0, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2]
    evidence = _Evidence({0: 0.1, 1: 0.3, 2: 0.3, 3: 0.3, 4: 0.3, 7: 0.9})
    ranked = answer_first(_items(scores), evidence, lambda row: stories.get(row, str(row)))
    assert ranked[0].row == 7  # the story's place, its answering paragraph
    assert [stories.get(i.row, str(i.row)) for i in ranked[:5]] == ["a", "1", "2", "3", "4"]
    assert [item.score for item in ranked] == sorted((item.score for item in ranked), reverse=True)
    assert 7 <= STORY_WINDOW


def test_nothing_to_reorder() -> None:
    evidence = _Evidence({})
    assert answer_first(_items([0.5]), evidence, str)[0].row == 0
    assert [i.row for i in answer_first(_items([0.0, 0.0]), evidence, str)] == [0, 1]
    assert evidence.asked == []


# Sentence evidence with the real model --------------------------------------------------


@pytest.fixture(scope="module")
def lexical() -> LexicalIndex:
    return LexicalIndex.build(
        [
            "The council met on Tuesday.",
            "The footbridge over the Tam will cost $4 million.",
            "Residents asked about parking near the river.",
        ]
    )


def test_the_sentence_with_the_asked_for_amount_scores_best(encoder, lexical) -> None:  # type: ignore[no-untyped-def]
    text = (
        "The council discussed the footbridge over the Tam at length on Tuesday. "
        "Building it will cost $4 million, paid by the regional fund. "
        "Residents asked about parking."
    )
    [(spans, scores)] = sentence_evidence(
        [text], "How much will the footbridge cost?", encoder, lexical
    )
    best = max(range(len(spans)), key=lambda i: scores[i])
    assert "$4 million" in text[spans[best][0] : spans[best][1]]


def test_rare_shared_words_count_more_than_common_ones(encoder, lexical) -> None:  # type: ignore[no-untyped-def]
    texts = ["The council met on Tuesday.", "The footbridge over the Tam is closed."]
    [(_, common), (_, rare)] = sentence_evidence(
        texts, "Why did the council close the Tam footbridge?", encoder, lexical
    )
    assert rare[0] > common[0]


# End to end on a hand-written archive (real model, real FAISS) --------------------------


def test_a_dateline_paragraph_yields_its_place_to_the_lead(
    story_index: Callable[[list[dict[str, str]]], Path],
) -> None:
    """Every paragraph is embedded with its headline, so a dateline ("HARBOURTON —") scores
    like the headline itself, above the lead that answers in other words ("the crossing");
    without qa.rank.answer_first the dateline is shown first."""
    stories = [
        {
            "title": "Harbourton council approves a footbridge over the Tam",
            "text": "HARBOURTON —\n\n"
            "Councillors voted 7-2 on Tuesday to spend $4 million on the crossing, which will "
            "open in 2027.\n\n"
            "Opponents said the money would be better spent on the harbour wall.\n\n"
            "The mayor said work would start in the spring.",
        },
        {
            "title": "Tam river levels fall after a dry summer",
            "text": "Levels on the Tam fell to a ten-year low in August.\n\n"
            "Anglers say the footpaths along the river are busier than ever.",
        },
        {
            "title": "Council budget: what it means for you",
            "text": "The council's budget for next year rises by 3%.\n\n"
            "Most of the increase goes to schools and roads.",
        },
    ]
    index = story_index(stories)
    result = qa.answer("How much will the Harbourton footbridge over the Tam cost?", index=index)
    assert result.passages[0].title.startswith("Harbourton council")
    assert result.passages[0].paragraph == 2
    assert result.quote_text is not None and "$4 million" in result.quote_text
