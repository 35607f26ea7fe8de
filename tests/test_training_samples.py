"""Training samples drawn from SQuAD-shaped data (qa.eval.training), on a small hand-written
training folder: the shapes the fit scripts learn from, and the held-out paragraphs that
give the "answered" model questions its archive cannot answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.eval.beir import load_dataset, read_jsonl
from qa.eval.evaluation import answer_in_quote
from qa.eval.training import HELD_OUT_FILE, squad_sample

PARAGRAPHS = {
    "a000p000": ("Harbour_Town", "The ferry to Harbourton leaves at nine. It carries 40 cars."),
    "a000p001": ("Harbour_Town", "The harbour master is Ada Lind. She took office in 2019."),
    "a000p002": ("Harbour_Town", "The lighthouse was painted red in 1990."),
    "a001p000": ("Glacier_Museum", "The glacier museum opened in Fjordby last spring."),
    "a001p001": ("Glacier_Museum", "Seawater from the fjord chills its halls."),
    "a001p002": ("Glacier_Museum", "Tickets cost 120 kroner."),
}
QUESTIONS = {
    "a000p000q00": ("When does the ferry leave?", "nine"),
    "a000p001q00": ("Who is the harbour master?", "Ada Lind"),
    "a000p002q00": ("What colour is the lighthouse?", "red"),
    "a001p000q00": ("Where did the glacier museum open?", "Fjordby"),
    "a001p001q00": ("What chills the museum's halls?", "Seawater"),
    "a001p002q00": ("How much is a ticket?", "120 kroner"),
    # Its answer is in two paragraphs: holding one out leaves it answerable.
    "a001p002q01": ("Where is the museum?", "fjord"),
}


@pytest.fixture
def train(tmp_path: Path) -> Path:
    folder = tmp_path / "squad-train"
    folder.mkdir()
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for paragraph, (title, text) in PARAGRAPHS.items():
            out.write(json.dumps({"_id": paragraph, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for query, (text, answer) in QUESTIONS.items():
            start = next(t for _, t in PARAGRAPHS.values() if answer in t).index(answer)
            metadata = {"answers": [{"text": answer, "answer_start": start}]}
            out.write(json.dumps({"_id": query, "text": text, "metadata": metadata}) + "\n")
    return folder


def test_passages_keep_every_paragraph_and_judge_each_question(train: Path) -> None:
    dataset = load_dataset(squad_sample(train, 2, 100))
    assert set(dataset.doc_ids) == set(PARAGRAPHS)
    assert set(dataset.queries) == set(QUESTIONS)
    assert dataset.qrels["a001p001q00"] == {"a001p001": 1}
    assert dataset.answers["a000p001q00"] == ("Ada Lind",)


def test_news_stories_open_with_a_dateline_and_cut_paragraphs(train: Path) -> None:
    folder = squad_sample(train, 2, 100, as_stories=True, news_cut=True)
    stories = {row["_id"]: row for row in read_jsonl(folder / "corpus.jsonl")}
    assert set(stories) == {"a000", "a001"}
    harbour = str(stories["a000"]["text"]).split("\n\n")
    assert harbour[0] == "HARBOUR —"
    assert "The ferry to Harbourton leaves at nine. It carries 40 cars." in harbour
    assert load_dataset(folder).qrels["a000p002q00"] == {"a000": 1}


def test_held_out_paragraphs_leave_the_archive_with_their_unanswerable_questions(
    train: Path,
) -> None:
    folder = squad_sample(train, 2, 100, held_out=0.5)
    kept = {str(row["_id"]): str(row["text"]) for row in read_jsonl(folder / "corpus.jsonl")}
    assert len(kept) == 3
    dataset = load_dataset(folder)
    held = read_jsonl(folder / HELD_OUT_FILE)
    assert len(held) >= 2
    # Each question is either asked of an archive holding its paragraph (judged), or held out
    # because its paragraph is gone and its answer is nowhere else, or dropped.
    for query in QUESTIONS:
        paragraph = query[: len("a000p000")]
        if paragraph in kept:
            assert dataset.qrels[query] == {paragraph: 1}
    for row in held:
        assert str(row["_id"])[: len("a000p000")] not in kept
        answer = QUESTIONS[str(row["_id"])][1]
        assert not any(answer_in_quote(text, (answer,)) for text in kept.values())
    held_ids = {str(row["_id"]) for row in held}
    assert held_ids.isdisjoint(dataset.queries)
    gone = {q for q in QUESTIONS if q[: len("a000p000")] not in kept}
    assert held_ids <= gone
    if "a001p002q01" in gone and "a001p001" in kept:
        # "fjord" is still in a kept paragraph: not a question the archive cannot answer.
        assert "a001p002q01" not in held_ids


def test_held_out_must_be_a_share(train: Path) -> None:
    with pytest.raises(ValueError, match="held_out=1.0"):
        squad_sample(train, 2, 100, held_out=1.0)
