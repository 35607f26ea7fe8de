"""The UI's side of time words and syndicated copies, without a browser."""

from __future__ import annotations

import dataclasses

import pytest
from time_archive import AS_OF, write_archive

import qa
from qa.records import ArticleRef, Passage
from qa.search.timeframe import DateRange
from ui import render
from ui.backend import Backend
from ui.events import Handlers


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory) -> Handlers:
    root = tmp_path_factory.mktemp("ui-time")
    qa.build_index([write_archive(root / "archive")], index=root / "index")
    return Handlers(Backend(root / "index"))


def _final(steps: object) -> tuple:
    return list(steps)[-1]  # type: ignore[call-overload]


def test_time_words_show_the_range_under_the_question(handlers: Handlers) -> None:
    question = "What did the central bank decide on interest rates last week?"
    chat, _, asked, _, note, row, last = _final(
        handlers.respond_dated(question, [], [], 3, "", None, None, AS_OF)
    )
    assert "Searched articles from 8–14 April 2024" in note and "“last week”" in note
    assert row["visible"] is True and last == question
    reply = chat[-1]["content"]
    assert "byline-range" in reply and "Coalition" not in reply


def test_clear_asks_again_over_every_date(handlers: Handlers) -> None:
    question = "What did the central bank decide on interest rates last week?"
    chat, _, _, _, note, row, _ = _final(
        handlers.respond_all_dates(question, [], [], 5, "", None, None, AS_OF)
    )
    assert note == "" and row["visible"] is False
    assert "2024-03-20" in chat[-1]["content"]  # the March decision is back


def test_a_plain_question_shows_no_range(handlers: Handlers) -> None:
    _, _, _, _, note, row, _ = _final(
        handlers.respond_dated("Why did dock workers strike?", [], [], 3, "", None, None, None)
    )
    assert note == "" and row["visible"] is False


def test_a_bad_as_of_is_a_friendly_message(handlers: Handlers) -> None:
    chat = _final(handlers.respond_dated("strike", [], [], 3, "", None, None, "15 April"))[0]
    assert "byline-error" in chat[-1]["content"] and "YYYY-MM-DD" in chat[-1]["content"]


def test_the_card_lists_copies_escaped() -> None:
    hostile = ArticleRef("id<1>", "<script>alert(1)</script>", "2024-04-03", "a&b.jsonl:2")
    passage = Passage("text", 1.0, 1, "a", "Title", "2024-04-02", None, 1, "f", 0, 4)
    card = render.render_card(dataclasses.replace(passage, also_in=(hostile,)))
    assert "also in 1 article<" in card
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert 'value="id&lt;1&gt;|0|0"' in card and "3 Apr 2024" in card
    assert render.parse_source_choice("id<1>|0|0") == ("id<1>", 0, 0)


def test_range_note_is_escaped() -> None:
    note = render.range_note(DateRange("2024-04-08", "2024-04-14", "<b>last week</b>"))
    assert "<b>" not in note and "&lt;b&gt;" in note


def test_examples_skip_syndicated_copies(handlers: Handlers) -> None:
    examples = [item["text"] for item in handlers.headline_examples()["examples"]]
    assert len(examples) == 4
    assert sum("Rotterdam" in text for text in examples) == 1
