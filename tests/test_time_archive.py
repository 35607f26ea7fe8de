"""Time in questions and syndicated copies end to end: the real model and FAISS over a
generated archive (tests/time_archive.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from time_archive import AS_OF, COPIES, OTHERS, write_archive

import qa
from qa.cli import main
from qa.index.store import LoadedIndex
from qa.index.syndication import COPIES_FILE
from qa.search.query import get_retriever
from tests.conftest import SEED_CORPUS
from ui import render


@pytest.fixture(scope="module")
def time_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("time-index")
    qa.build_index([write_archive(root / "archive")], index=root / "index")
    return root / "index"


@pytest.fixture(scope="module")
def ids(time_index: Path) -> dict[str, str]:
    """The generated archive's own ids (tests/time_archive.py) -> the index's article ids."""
    by_title = {article.title: article.article_id for article in qa.list_articles(time_index)}
    names = {title: f"wire-{n}" for n, (_, _, title) in enumerate(COPIES, 1)}
    names.update({title: name for name, _, title, _ in OTHERS})
    return {names[title]: article_id for title, article_id in by_title.items()}


def test_syndicated_copies_show_as_one_card(time_index: Path, ids: dict[str, str]) -> None:
    wire_ids = {ids["wire-1"], ids["wire-2"], ids["wire-3"]}
    answer = qa.answer("Why did dock workers strike at the port of Rotterdam?", 5, index=time_index)
    wire = [p for p in answer.passages if p.article_id in wire_ids]
    assert wire, answer.passages
    assert {p.article_id for p in wire} == {wire[0].article_id}  # one article's cards only
    others = wire[0].also_in
    assert len(others) == 2
    assert {ref.article_id for ref in others} == wire_ids - {wire[0].article_id}
    assert [ref.published for ref in others] == sorted(ref.published or "" for ref in others)
    reply = render.render_reply(answer)
    assert reply.count("also in 2 articles") == 1  # on the story's first card only
    assert all(render.esc(ref.title) in reply for ref in others)


def test_the_other_copies_stay_citable(time_index: Path, ids: dict[str, str]) -> None:
    for article_id in (ids["wire-1"], ids["wire-2"], ids["wire-3"]):
        passages = qa.retrieve("Rotterdam strike", 3, index=time_index, article_id=article_id)
        assert passages and {p.article_id for p in passages} == {article_id}


def test_last_week_returns_only_that_weeks_articles(time_index: Path, ids: dict[str, str]) -> None:
    answer = qa.answer(
        "What did the central bank decide on interest rates last week?",
        5,
        index=time_index,
        as_of=AS_OF,
    )
    assert answer.date_range is not None
    assert (answer.date_range.date_from, answer.date_range.date_to) == ("2024-04-08", "2024-04-14")
    assert answer.passages
    assert all("2024-04-08" <= (p.published or "") <= "2024-04-14" for p in answer.passages)
    assert answer.passages[0].article_id == ids["rates-april"]
    # Without the time words' range, the March decision is among the passages.
    unfiltered = qa.retrieve(
        "What did the central bank decide on interest rates last week?",
        5,
        index=time_index,
        infer_dates=False,
    )
    assert ids["rates-march"] in {p.article_id for p in unfiltered}


def test_an_empty_range_says_so_and_offers_the_nearest_dates(time_index: Path) -> None:
    # The user's own range is applied even when it holds nothing.
    answer = qa.answer(
        "interest rates", index=time_index, date_from="2019-01-01", date_to="2019-12-31"
    )
    assert not answer.passages and not answer.answered
    assert "1 January–31 December 2019" in answer.reason
    assert "2024-02-01 (after)" in answer.reason


def test_an_inferred_range_that_holds_nothing_searches_every_date(time_index: Path) -> None:
    answer = qa.answer("central bank interest rates in 2019", index=time_index, as_of=AS_OF)
    found = answer.date_range
    assert found is not None and found.empty and found.nearest_after == "2024-02-01"
    assert found.nearest_before is None
    assert answer.passages and "interest rate" in answer.passages[0].text
    reply = render.render_reply(answer)
    assert "Nothing in the archive is dated in the range “in 2019” names" in reply
    assert "1 February 2024 (after)" in reply and "Every date was searched" in reply
    assert answer.to_dict()["date_range"]["applied"] is False


def test_the_latest_puts_the_newest_first(
    time_index: Path, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "What is the latest on central bank interest rates?"
    first = qa.retrieve(question, 5, index=time_index)[0]
    assert (first.article_id, first.published) == (ids["rates-april"], "2024-04-10")
    # On the text alone the March decision answers a little better: the prior moved April up.
    monkeypatch.setattr("qa.search.retrieval.wants_recent", lambda question: False)
    assert qa.retrieve(question, 5, index=time_index)[0].article_id == ids["rates-march"]


def test_the_latest_of_a_syndicated_story_shows_the_newest_copy(
    time_index: Path, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "the latest on the Rotterdam port strike"
    assert qa.retrieve(question, 3, index=time_index)[0].article_id == ids["wire-3"]
    monkeypatch.setattr("qa.search.retrieval.wants_recent", lambda question: False)
    assert qa.retrieve(question, 3, index=time_index)[0].article_id != ids["wire-3"]


PLAIN = [
    "When will Blinken visit China?",
    "What did the WHO say about the EG.5 variant?",
    "How fast did Threads reach 100 million users?",
    "Why did the ruble fall?",
    "What may Japan do with the Fukushima water?",
]


@pytest.mark.parametrize("question", PLAIN)
def test_plain_questions_are_searched_exactly_as_before(seed_index: Path, question: str) -> None:
    with_feature = qa.retrieve(question, 5, index=seed_index, as_of=AS_OF)
    without = qa.retrieve(question, 5, index=seed_index, infer_dates=False)
    retriever = get_retriever(seed_index)
    direct = retriever.retrieve(question, 5)
    assert with_feature == without == direct
    assert qa.answer(question, 5, index=seed_index).date_range is None


def test_json_carries_date_range_and_also_in(
    time_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "Rotterdam port strike last week"
    args = ["ask", question, "--index", str(time_index), "--as-of", "2024-04-08", "--json"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["date_range"]["date_from"] == "2024-04-01"
    assert payload["date_range"]["text"] == "articles from 1–7 April 2024"
    assert payload["date_range"]["inferred"] is True
    first = payload["passages"][0]
    assert len(first["also_in"]) == 2
    assert set(first["also_in"][0]) == {"article_id", "title", "published", "source"}


def test_a_bad_as_of_is_one_line_and_exit_1(
    time_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "strike", "--index", str(time_index), "--as-of", "15/04/2024"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'15/04/2024'" in err[0] and "2024-04-15" in err[0]


def test_an_index_without_copies_still_loads(time_index: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(time_index, copy)
    for stored in copy.rglob(COPIES_FILE):
        stored.unlink()
    assert LoadedIndex.load(copy).copies == {}


def test_seed_corpus_has_no_false_copies() -> None:
    from qa.index.syndication import find_copies
    from qa.ingest.corpus import read_corpus

    articles = read_corpus([SEED_CORPUS])[0]
    assert find_copies(articles) == []
