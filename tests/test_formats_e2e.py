"""A folder of a saved page, an RSS feed, an Atom feed, a WARC.gz crawl and the seed archive,
built in one build with the real model and FAISS: each source answers its question, cited at
the right paragraph with its own date, and no boilerplate reaches any passage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.api import get_article, list_articles
from qa.cli import main
from qa.index.build import build_index
from qa.search.query import get_retriever, retrieve
from tests.conftest import SEED_CORPUS
from tests.format_fixtures import BOILERPLATE, CRAWLED_URL, news_folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = news_folder(tmp_path_factory.mktemp("mixed") / "news")
    shutil.copyfile(SEED_CORPUS, folder / SEED_CORPUS.name)
    index = folder.parent / "index"
    report = build_index([folder], index=index)
    assert report.skipped == ()
    assert report.articles == 6 + 5
    return folder.resolve(), index


@pytest.mark.parametrize(
    ("question", "source", "paragraph", "published", "words"),
    [
        ("How much did the harbour tunnel cost?", "tunnel.html", 2, "2024-05-14", "1.2 billion"),
        (
            "When does construction of the riverside library start?",
            "valley.rss#https://valley.example/library",
            2,
            "2024-07-02",
            "starts in March",
        ),
        (
            "How many tonnes of apples did the growers pick?",
            "orchard.atom#https://orchard.example/harvest",
            1,
            "2023-10-05",
            "forty thousand tonnes",
        ),
        (
            "How many bronze statues did the museum hand back?",
            f"crawl.warc.gz#{CRAWLED_URL}",
            1,
            "2022-03-09",
            "twelve bronze statues",
        ),
        ("When will Antony Blinken visit China?", SEED_CORPUS.name, None, None, "Blinken"),
    ],
)
def test_each_source_answers_at_the_right_paragraph_with_its_date(
    mixed: tuple[Path, Path],
    question: str,
    source: str,
    paragraph: int | None,
    published: str | None,
    words: str,
) -> None:
    folder, index = mixed
    best = retrieve(question, k=1, index=index)[0]
    assert best.source == f"{folder}/{source}", (question, best.source, best.text)
    assert words in best.text
    if paragraph is not None:
        assert best.paragraph == paragraph
        assert best.published == published
    # The citation opens: the stored article text holds the passage at its offsets.
    article = get_article(best.article_id, index=index)
    assert article.text[best.start - article.start : best.end - article.start] == best.text


def test_no_boilerplate_in_any_passage_and_offsets_hold(mixed: tuple[Path, Path]) -> None:
    _, index = mixed
    loaded = get_retriever(index).index
    for paragraph in loaded.paragraphs:
        for word in BOILERPLATE:
            if "news_articles" not in paragraph.source:  # the seed archive is plain text
                assert word.lower() not in paragraph.text.lower(), (word, paragraph.source)
        article = get_article(paragraph.article_id, index=index)
        start, end = paragraph.start - article.start, paragraph.end - article.start
        assert article.text[start:end] == paragraph.text


def test_date_filters_work_for_every_format(mixed: tuple[Path, Path]) -> None:
    _, index = mixed
    july = retrieve("news", k=20, index=index, date_from="2024-07-01", date_to="2024-07-31")
    assert {p.title for p in july} == {
        "Council approves new riverside library",
        "Heavy rain expected across the valley",
    }
    early = retrieve("news", k=20, index=index, date_to="2023-12-31")
    assert {p.published for p in early} == {"2022-03-09", "2023-10-05"}
    dated = {a.title: a.published for a in list_articles(index)}
    assert dated["Museum returns bronze statues to their home city"] == "2022-03-09"


def test_build_json_counts_each_format(
    mixed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, index = mixed
    capsys.readouterr()
    assert main(["build", str(folder), "--index", str(index), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["embedded"] == 0  # nothing changed since the fixture's build
    assert report["undated"] == 5  # five of the six seed articles have no date
    formats = report["formats"]
    assert formats["txt"] == {"files": 1, "articles": 6, "undated": 5, "skipped": {}}
    assert formats["html"] == {"files": 1, "articles": 1, "undated": 0, "skipped": {}}
    assert formats["feed"] == {"files": 2, "articles": 3, "undated": 0, "skipped": {}}
    assert formats["warc"]["articles"] == 1
    assert formats["warc"]["skipped"] == {
        "warcinfo record": 1,
        "request record": 1,
        "non-HTML response": 1,
        "HTTP 404 response": 1,
    }
    assert main(["build", str(folder), "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "  warc: 1 file(s), 1 article(s), 0 without a date; skipped: 1 warcinfo record" in out


def test_hostile_new_formats_each_warn_once_and_the_good_ones_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.format_fixtures import CRAWLED_PAGE, PAGE_HTML, RSS_FEED, write_warc

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "tunnel.html").write_text(PAGE_HTML, encoding="utf-8")
    (folder / "menu.html").write_text("<html><body><nav>Home World Sport</nav></body></html>")
    (folder / "script.htm").write_text("<html><body><script>var a = 1;</script></body></html>")
    broken = RSS_FEED.replace("Heavy rain expected", "Heavy &bogus; rain expected")
    (folder / "broken.rss").write_text(broken, encoding="utf-8")
    crawl = write_warc(tmp_path / "whole.warc.gz", [(CRAWLED_URL, CRAWLED_PAGE)] * 2)
    data = crawl.read_bytes()
    (folder / "cut.warc.gz").write_bytes(data[: int(len(data) * 0.7)])
    with (folder / "huge.html").open("wb") as handle:
        handle.truncate(2 * 2**30)  # sparse: 2 GB on paper
    index = tmp_path / "index"
    assert main(["build", str(folder), "--index", str(index), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["articles"] == 1 + 2 + 1  # the page, both feed entries, the first record
    expected = {
        "menu.html": "no article text found",
        "script.htm": "no article text found",
        "broken.rss": "the feed has errors",
        "cut.warc.gz": "truncated or damaged",
        "huge.html": "larger than 50 MB",
    }
    assert len(report["skipped"]) == len(expected)
    for name, reason in expected.items():
        lines = [line for line in captured.err.splitlines() if name in line]
        assert len(lines) == 1 and reason in lines[0], (name, lines)
    assert report["formats"]["html"]["skipped"] == {"no article text": 2, "larger than 50 MB": 1}
    assert report["formats"]["warc"]["skipped"]["damaged or truncated file"] == 1
