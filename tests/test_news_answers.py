"""Answer types, answer evidence, adaptive fusion, story context and the "answered" model,
each rule pinned on small hand-written text (never on evaluation questions)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import qa
from embeddings.encoder import Encoder
from qa.eval.evaluation import answer_in_quote, normalise_answer
from qa.index.lexical import LexicalIndex
from qa.rank.answertype import AnswerType, answer_type, answers_near_question, holds_answer_type
from qa.rank.coverage import idf_coverage
from qa.rank.fusion import DENSE_WEIGHT, WEIGHT_BOUNDS, Scored, adaptive_weight, fuse
from qa.rank.ordering import boost_by_evidence, introduces, who_is_subject
from qa.rank.stories import damp_repeats, with_story_context
from qa.records import Paragraph
from qa.reply.answerability import Evidence, gather_evidence

# Question -> answer type ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When will the summit open?", AnswerType.TIME),
        ("In what year was the bridge built?", AnswerType.TIME),
        ("How many people were evacuated?", AnswerType.AMOUNT),
        ("How much did the shares fall?", AnswerType.AMOUNT),
        ("What percentage of voters turned out?", AnswerType.AMOUNT),
        ("Who won the election?", AnswerType.NAME),
        ("Which company bought the start-up?", AnswerType.NAME),
        ("Where did the storm make landfall?", AnswerType.PLACE),
        ("Which country hosted the talks?", AnswerType.PLACE),
        ("Why was the vote postponed?", None),
        ("What did the minister say about tariffs?", None),
    ],
)
def test_question_answer_types(question: str, kind: AnswerType | None) -> None:
    assert answer_type(question) is kind


def test_the_first_question_word_decides() -> None:
    assert answer_type("Who said how many jobs would go?") is AnswerType.NAME


# Sentence -> holds an answer of that type -----------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "kind", "expected"),
    [
        ("The talks will open on June 18 in Geneva.", AnswerType.TIME, True),
        ("The talks opened last week.", AnswerType.TIME, True),
        ("The talks were constructive.", AnswerType.TIME, False),
        ("Shares fell 8% on Tuesday.", AnswerType.AMOUNT, True),
        ("The deal is worth $3.2 billion.", AnswerType.AMOUNT, True),
        ("Hundreds of homes were flooded.", AnswerType.AMOUNT, True),
        ("The law was passed in 2019.", AnswerType.AMOUNT, False),  # a year is a date
        ("Shares fell sharply.", AnswerType.AMOUNT, False),
        ("The storm made landfall near Tampa.", AnswerType.PLACE, True),
        ("The storm weakened overnight.", AnswerType.PLACE, False),
        ("the award went to Maria Lopez.", AnswerType.NAME, True),
        ("the award was given again.", AnswerType.NAME, False),
    ],
)
def test_sentence_holds_answer_type(sentence: str, kind: AnswerType, expected: bool) -> None:
    assert holds_answer_type(sentence, kind) is expected


def test_a_name_the_question_already_gives_is_no_answer() -> None:
    question = "Who met Maria Lopez?"
    assert not holds_answer_type("the minister met Maria Lopez.", AnswerType.NAME, question)
    assert holds_answer_type("John Park met Maria Lopez.", AnswerType.NAME, question)


def test_a_date_counts_near_the_question_words_only() -> None:
    question = "When will the mayor open the bridge?"
    near = "The mayor will open the bridge on March 3, officials said."
    far = "The mayor, who took office in January 2021 after a long campaign, praised the bridge."
    assert answers_near_question(near, AnswerType.TIME, question)
    assert holds_answer_type(far, AnswerType.TIME, question)
    assert not answers_near_question(far, AnswerType.TIME, question)


# "Who is X?" ----------------------------------------------------------------------------


def test_who_is_subject() -> None:
    assert who_is_subject("Who is Jane Doe?") == "Jane Doe"
    assert who_is_subject("who was Antony Blinken") == "Antony Blinken"
    assert who_is_subject("Who is the president?") is None
    assert who_is_subject("Who won the race?") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane Doe, Dean of Law at Northfield University, led the study.", True),
        ("Jane Doe is a historian who studies ports.", True),
        ("Doe, who chairs the panel, spoke first.", True),
        ("“We expected this,” said Doe.", False),
        ("Doe, said the report, was not consulted.", False),
    ],
)
def test_introduces(text: str, expected: bool) -> None:
    assert introduces(text, "Jane Doe") is expected


# Evidence lifts close candidates only ---------------------------------------------------


def _items(*scores: float) -> list[Scored]:
    return [Scored(row, score, None, None) for row, score in enumerate(scores)]


BRIDGE_TEXTS = (
    "The mayor praised the bridge and its long history.",
    "The mayor will open the bridge on March 3.",
)
BRIDGE_QUESTION = "When will the mayor open the bridge?"


@pytest.mark.parametrize(
    ("second_score", "order"),
    [(0.9, [1, 0]), (0.5, [0, 1])],  # close: lifted above the leader; far behind: not lifted
)
def test_evidence_lifts_close_candidates_only(second_score: float, order: list[int]) -> None:
    boosted = boost_by_evidence(
        _items(1.0, second_score), BRIDGE_QUESTION, BRIDGE_TEXTS.__getitem__
    )
    assert [item.row for item in boosted] == order


def test_who_is_puts_the_introduction_first() -> None:
    texts = [
        "“The results surprised us,” Doe said of the survey of Jane Doe's students.",
        "Jane Doe, Dean of Law at Northfield University, ran the survey.",
    ]
    boosted = boost_by_evidence(_items(1.0, 0.88), "Who is Jane Doe?", texts.__getitem__)
    assert [item.row for item in boosted] == [1, 0]


def test_questions_without_an_answer_type_keep_their_order() -> None:
    texts = ["a", "b"]
    assert boost_by_evidence(_items(1.0, 0.99), "Why did it rain?", texts.__getitem__) == _items(
        1.0, 0.99
    )


# Adaptive fusion ------------------------------------------------------------------------

PEAKED = [(0, 10.0)] + [(row, 1.0) for row in range(1, 20)]
FLAT = [(row, 1.0 - row * 0.01) for row in range(20)]


def test_weight_moves_towards_the_surer_retriever() -> None:
    assert adaptive_weight(PEAKED, FLAT) > DENSE_WEIGHT  # dense stands out
    assert adaptive_weight(FLAT, PEAKED) < DENSE_WEIGHT  # BM25 stands out
    assert WEIGHT_BOUNDS[0] <= adaptive_weight(FLAT, PEAKED) <= WEIGHT_BOUNDS[1]


def test_weight_without_one_list_is_the_other() -> None:
    assert adaptive_weight(FLAT, []) == 1.0
    assert adaptive_weight([], FLAT) == 0.0


def test_fuse_without_a_weight_uses_the_adaptive_one() -> None:
    dense = [(1, 0.9), (2, 0.5), (3, 0.4), (4, 0.3)]
    lexical = [(3, 12.0), (4, 7.0), (1, 1.0), (5, 0.5)]
    weight = adaptive_weight(dense, lexical)
    assert [s.row for s in fuse(dense, lexical)] == [s.row for s in fuse(dense, lexical, weight)]


# Story context --------------------------------------------------------------------------


def _paragraph(article: str, index: int) -> Paragraph:
    return Paragraph(article, "t", None, None, index, 0, 1, "x", "s")


def test_story_score_lifts_a_paragraph_of_the_better_story() -> None:
    paragraphs = [_paragraph("a", 1), _paragraph("b", 1)]
    mixed = with_story_context(_items(0.6, 0.5), paragraphs, {"a": 0.1, "b": 1.0})
    assert [item.row for item in mixed] == [1, 0]


def test_second_paragraph_of_a_story_yields_to_another_story() -> None:
    paragraphs = [_paragraph("a", 1), _paragraph("a", 2), _paragraph("b", 1)]
    damped = damp_repeats(_items(1.0, 0.9, 0.6), paragraphs)
    assert [item.row for item in damped] == [0, 2, 1]


# Eval: answer-in-quote ------------------------------------------------------------------


def test_answers_are_compared_as_squad_does() -> None:
    assert normalise_answer("The “Tony Awards”!") == "tony awards"
    assert answer_in_quote(
        "Broadway celebrated at the Tony Awards on Sunday.", ("The Tony Awards",)
    )
    assert not answer_in_quote("Broadway celebrated on Sunday.", ("The Tony Awards",))
    # Whole words only: "Iran" is not found inside "Iranian".
    assert not answer_in_quote("Iranian officials spoke.", ("Iran",))


# The "answered" model -------------------------------------------------------------------


def test_answered_probability_grows_with_each_kind_of_evidence() -> None:
    weak = Evidence(top_cosine=0.3, coverage=0.2, type_missing=True)
    closer = Evidence(top_cosine=0.6, coverage=0.2, type_missing=True)
    covered = Evidence(top_cosine=0.3, coverage=0.9, type_missing=True)
    assert closer.probability > weak.probability and covered.probability > weak.probability
    assert Evidence(0.8, 0.9, False).answered and not Evidence(0.1, 0.0, True).answered


def test_coverage_weighs_rare_terms() -> None:
    lexical = LexicalIndex.build(
        ["the bridge opened", "the bridge closed", "the bridge was painted", "Zanzibar ferry"]
    )
    question = "When did the Zanzibar bridge open?"
    rare = idf_coverage(question, "Zanzibar", lexical)
    common = idf_coverage(question, "bridge", lexical)
    assert rare > common > 0
    assert gather_evidence(question, 0.5, "The bridge opened.", lexical).type_missing


# End to end on the seed archive (real model, real FAISS) --------------------------------


def test_the_readme_example_quotes_the_sentence_that_answers(seed_index: Path) -> None:
    result = qa.answer("When will Blinken visit China?", index=seed_index)
    assert result.answered
    assert result.quote_text is not None and "June 18 to 19" in result.quote_text
    start, end = result.quote
    assert start >= result.passages[0].start and end <= result.passages[0].end
    assert result.quote in result.passages[0].highlights


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("Who held an eight hour meeting in Vienna?", True),
        ("How many users did Threads reach?", True),
        ("What is the population of Sydney?", False),
        ("How much did Meta pay to acquire Threads?", False),
    ],
)
def test_answered_on_the_seed_archive(seed_index: Path, question: str, answered: bool) -> None:
    assert qa.answer(question, index=seed_index).answered is answered


def test_story_context_finds_the_paragraph_whose_names_are_in_the_headline(
    story_index: Callable[[list[dict[str, str]]], Path],
) -> None:
    """The answering paragraph says "the company" and "the plant"; only the headline and lead
    name them. Other stories share the question's words in single paragraphs."""
    stories = [
        {
            "title": "Nordvik Steel to close its Tarrow plant",
            "text": "Nordvik Steel said on Monday it will close its Tarrow plant.\n\n"
            "The company blamed falling demand and high energy prices.\n\n"
            "About 1,200 workers will lose their jobs when the plant shuts in May.",
        },
        {
            "title": "Harbour festival returns",
            "text": "The harbour festival returns this summer with music and food.\n\n"
            "Organisers expect record crowds.",
        },
        {
            "title": "Energy prices ease",
            "text": "Energy prices eased in April as demand fell.\n\n"
            "Analysts expect workers in heavy industry to feel relief later in the year.",
        },
    ]
    index = story_index(stories)
    best = qa.retrieve("How many workers lose their jobs at the Nordvik Tarrow plant?", index=index)
    assert best[0].title == "Nordvik Steel to close its Tarrow plant"
    assert "1,200" in best[0].text


def test_shown_metrics_count_passages_and_quotes() -> None:
    from qa.eval.beir import Dataset
    from qa.eval.evaluation import Runs, shown_metrics

    dataset = Dataset(
        "toy",
        Path("."),
        ("d1", "d2", "d3"),
        {"q1": "?", "q2": "?"},
        {"q1": {"d1": 1}, "q2": {"d3": 1}},
        {"q1": ("Paris",), "q2": ("Rome",)},
    )
    runs = Runs(
        docs={"q1": ["d1"], "q2": ["d2"]},
        passage_docs={"q1": ["d2", "d1"], "q2": ["d2", "d2"]},
        quotes={"q1": "It was held in Paris.", "q2": "It was held in Milan."},
    )
    assert shown_metrics(runs, dataset) == {"passage_hit@5": 0.5, "answer_in_quote": 0.5}


def test_who_is_looks_further_down_for_the_introduction() -> None:
    texts = [
        "“We expected this,” Doe said.",
        "Doe said the survey would go on.",
        "Jane Doe, Dean of Law at Northfield University, ran the survey.",
    ]
    boosted = boost_by_evidence(_items(1.0, 0.95, 0.75), "Who is Jane Doe?", texts.__getitem__)
    assert boosted[0].row == 2
    # A plain "when" question does not reach that far down.
    far = boost_by_evidence(
        _items(1.0, 0.95, 0.75), BRIDGE_QUESTION, [*BRIDGE_TEXTS, BRIDGE_TEXTS[1]].__getitem__
    )
    assert far[0].row == 1 and far[-1].row == 2


def test_only_the_sentences_with_most_other_evidence_are_embedded(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.rank.highlight

    cache = qa.rank.highlight._SentenceCache()
    monkeypatch.setattr(qa.rank.highlight, "_cache", cache)
    filler = [f"The weather on day {n} was mild." for n in range(4)]
    answer = "The Zanzibar ferry resumed sailing on June 18."
    text = " ".join([*filler[:2], answer, *filler[2:], "The Zanzibar port stayed open."])
    question = "When did the Zanzibar ferry resume sailing?"
    lexical = LexicalIndex.build([text, "a bridge opened", "the market closed"])
    [(spans, features)] = qa.rank.highlight.sentence_features([text], question, encoder, lexical)
    assert len(spans) == 6
    embedded = {sentence for _, sentence in cache._vectors}
    assert len(embedded) == qa.rank.highlight.EMBEDDED_PER_TEXT == 4
    assert answer in embedded and "The Zanzibar port stayed open." in embedded
    # A sentence left out scores no cosine above the lowest embedded one, so cannot win.
    sentences = [text[s:e] for s, e in spans]
    inside = [i for i, sentence in enumerate(sentences) if sentence in embedded]
    left_out = [i for i in range(6) if i not in inside]
    assert features[left_out, 0].max() <= features[inside, 0].min()
    scores = features @ np.asarray(qa.rank.highlight.WEIGHTS, dtype=np.float32)
    assert sentences[int(np.argmax(scores))] == answer


def test_texts_without_sentences_have_no_features(encoder: Encoder) -> None:
    import qa.rank.highlight

    lexical = LexicalIndex.build(["the bridge opened", "the ferry sailed"])
    found = qa.rank.highlight.sentence_features(
        ["", "The ferry sailed."], "When?", encoder, lexical
    )
    assert [len(spans) for spans, _ in found] == [0, 1]
    assert found[0][1].shape == (0, len(qa.rank.highlight.FEATURES))
    assert qa.rank.highlight.sentence_features([""], "When?", encoder, lexical)[0][0] == []
