"""The learned ranking (qa.rank.learned): the evidence it reads per candidate, how it
reorders, the model shipped in the package and the record of what it was fitted on."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import lightgbm
import numpy as np
import pytest

from qa.rank.fusion import Scored
from qa.rank.learned import (
    DEPTH,
    FEATURES,
    PER_STORY,
    SENTENCE_DEPTH,
    Candidates,
    LearnedRanker,
    candidate_block,
)
from qa.rank.stories import STORY_DENSE_WEIGHT, STORY_WEIGHT
from qa.records import Paragraph
from qa.search.query import get_retriever
from qa.search.retrieval import default_ranker

MUSEUM = [
    {
        "id": "glacier",
        "title": "Greenland opens a glacier museum on the Icefjord",
        "published": "2025-06-02",
        "text": "ILULISSAT, Greenland —\n\nA museum devoted to glaciers opened on Saturday in "
        "Ilulissat. The glacier museum, the first of its kind in the Arctic, will show visitors "
        "how the ice sheet is changing.\n\nThe building sits at the edge of the Icefjord, a "
        "UNESCO World Heritage site, and its curved roof echoes the ice beyond it.\n\nMore than "
        "2,000 people came to the opening, among them Denmark's crown prince.\n\nInside, the "
        "exhibition halls stay at minus five degrees all year. Seawater pumped from the fjord "
        "chills them, which saves most of the power a conventional plant would use.\n\nThe "
        "project cost about 200 million kroner, officials said.",
    },
    {
        "id": "zermatt",
        "title": "Swiss glacier museum draws record crowds",
        "published": "2025-08-02",
        "text": "A glacier museum in Zermatt drew a record 90,000 visitors this summer.\n\nIts "
        "director said the museum would add a hall on melting ice.",
    },
    {
        "id": "ferry",
        "title": "New ferry route links Nuuk and Sisimiut",
        "published": "2025-05-20",
        "text": "A ferry route between Nuuk and Sisimiut started service this week.\n\nThe ship "
        "carries 120 passengers and sails twice a week in summer.",
    },
]


class _Recorder:
    """Stands in for the model: keeps the candidates' evidence, leaves their order alone."""

    def __init__(self) -> None:
        self.seen: Candidates | None = None

    def reorder(self, candidates: Candidates) -> list[Scored]:
        self.seen = candidates
        return list(candidates.items)


def _candidates(index: Path, question: str) -> tuple[Candidates, list[str]]:
    retriever = get_retriever(index)
    recorder = _Recorder()
    retriever.ranker = recorder  # type: ignore[assignment]
    try:
        retriever.ranked(question, DEPTH)
    finally:
        retriever.ranker = default_ranker()
    assert recorder.seen is not None
    texts = [retriever.index.paragraphs[item.row].text for item in recorder.seen.items]
    return recorder.seen, texts


def test_each_candidate_has_its_evidence_row(
    story_index: Callable[[list[dict[str, str]]], Path],
) -> None:
    candidates, texts = _candidates(story_index(MUSEUM), "How is the glacier museum cooled?")
    features = candidates.features
    column = {name: number for number, name in enumerate(FEATURES)}
    assert features.shape == (len(candidates.items), len(FEATURES))
    for place, item in enumerate(candidates.items):
        # A cosine is there exactly when the paragraph was a dense candidate.
        assert np.isnan(features[place, column["cosine"]]) == (item.dense is None)
    assert (features[:, column["asks_type"]] == 0).all()  # "how" asks for no typed answer
    # The Greenland story has six paragraphs; PER_STORY of them are candidates, the rest
    # of the archive (four paragraphs) all are.
    assert len(candidates.items) == PER_STORY + 4
    stories = features[:, column["story_candidates"]]
    above = features[:, column["story_above"]]
    assert sorted(above[stories == PER_STORY]) == list(range(PER_STORY))
    # Sentence evidence and the quoted sentence exist for the first SENTENCE_DEPTH only.
    sentence = features[:, column["sentence"]]
    assert not np.isnan(sentence[: min(SENTENCE_DEPTH, len(texts))]).any()
    for text, span in zip(texts, candidates.best_sentences, strict=True):
        assert span is not None
        assert text[span[0] : span[1]].strip() and len(text[span[0] : span[1]]) <= len(text)


def _model(feature_names: list[str]) -> str:
    """A small lambdarank model over random evidence where the first feature decides."""
    rng = np.random.default_rng(0)
    features = rng.random((400, len(feature_names)))
    grades = (features[:, 0] * 3).astype(int)
    booster = lightgbm.train(
        {"objective": "lambdarank", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
        lightgbm.Dataset(features, grades, group=[20] * 20, feature_name=feature_names),
        20,
    )
    return str(booster.model_to_string())


def test_reorder_follows_the_model_and_hands_out_the_first_stage_scores() -> None:
    ranker = LearnedRanker(_model(list(FEATURES)))
    features = np.zeros((4, len(FEATURES)), dtype=np.float32)
    features[:, 0] = [0.1, 0.9, 0.5, 0.0]
    items = [Scored(row, score, None, None) for row, score in enumerate([1.0, 0.8, 0.7, 0.2])]
    reordered = ranker.reorder(Candidates(items, features, [None] * 4))
    assert [item.row for item in reordered] == [1, 2, 0, 3]
    assert [item.score for item in reordered] == [1.0, 0.8, 0.7, 0.2]


def test_scores_are_lightgbms_own_on_the_shipped_model() -> None:
    text = (files("qa") / "data" / "ranker.txt").read_text(encoding="utf-8")
    rng = np.random.default_rng(7)
    features = rng.random((300, len(FEATURES)))
    # Missing evidence (NaN) and zeros take the trees' default and zero branches.
    features[rng.random(features.shape) < 0.2] = np.nan
    features[rng.random(features.shape) < 0.1] = 0.0
    expected = lightgbm.Booster(model_str=text).predict(features)
    np.testing.assert_allclose(LearnedRanker(text).scores(features), expected, atol=1e-9)


def test_a_model_fitted_on_other_evidence_is_refused() -> None:
    with pytest.raises(ValueError, match="refit it with scripts/fit_ranker.py"):
        LearnedRanker(_model([f"other_{number}" for number in range(len(FEATURES))]))


def test_the_shipped_model_was_fitted_on_training_questions_only() -> None:
    record = json.loads((files("qa") / "data" / "ranker.json").read_text(encoding="utf-8"))
    assert set(record["training questions"]) == {
        "squad1.1-train passages",
        "squad1.1-train stories",
        "squad1.1-train news-sized stories",
        "realtimeqa 2020-2021",
    }
    assert all(row["questions"] > 500 for row in record["training questions"].values())
    # Every evaluation set is reported with a setting chosen on the other sets.
    assert set(record["leave-one-set-out"]) == {
        "news-archive-2022",
        "squad2-dev",
        "realtimeqa-2020-2022",
        "multihop-rag-news",
        "scifact",
    }
    # The candidates the model was fitted on came from the story weights the code uses.
    first_stage = record["first stage"]
    assert (first_stage["story weight"], first_stage["story dense weight"]) == (
        STORY_WEIGHT,
        STORY_DENSE_WEIGHT,
    )
    shipped = default_ranker()
    assert isinstance(shipped, LearnedRanker)
    assert shipped.scores(np.zeros((3, len(FEATURES)), dtype=np.float32)).shape == (3,)


def test_the_learned_ranking_serves_by_default_and_the_hand_set_one_is_kept(
    seed_index: Path,
) -> None:
    retriever = get_retriever(seed_index)
    assert isinstance(retriever.ranker, LearnedRanker)
    question = "When will Blinken visit China?"
    learned = retriever.retrieve(question, 3)
    retriever.ranker = None
    try:
        hand_set = retriever.retrieve(question, 3)
    finally:
        retriever.ranker = default_ranker()
    for passages in (learned, hand_set):
        assert "June 18" in passages[0].text


def test_candidates_hold_at_most_per_story_paragraphs_of_one_story() -> None:
    def paragraph(article: str, index: int) -> Paragraph:
        return Paragraph(article, "t", None, None, index, 0, 1, "x", "s")

    # A long story fills the first 12 places, then 30 one-paragraph stories follow.
    paragraphs = [paragraph("long", i) for i in range(12)] + [
        paragraph(f"short-{i}", 0) for i in range(30)
    ]
    items = [Scored(row, 1.0 - row / 100, None, None) for row in range(len(paragraphs))]
    block = candidate_block(items, paragraphs)
    assert len(block) == DEPTH
    assert [item.row for item in block] == list(range(PER_STORY)) + list(
        range(12, 12 + DEPTH - PER_STORY)
    )
