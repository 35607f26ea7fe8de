import json
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.ingest.corpus import parse_date, parse_file, read_articles, split_title_line
from tests.conftest import SEED_CORPUS
from tests.format_fixtures import news_folder

NEW_KINDS = (".html", ".rss", ".atom", ".warc.gz")


def test_seed_corpus_articles_dates_sections_and_paragraphs() -> None:
    articles, warnings = parse_file(SEED_CORPUS)
    assert warnings == []
    assert len(articles) == 6
    first = articles[0]
    assert first.title == "Can there be a window of slight improvement in Sino US relations?, Depth"
    assert first.keywords == (
        "Antony Blinken is going to visit China for Sino US relations",
        "Antony Blinken is going to visit China",
    )
    assert first.published == "2024-04-13"
    assert first.sections == (
        "Critical moment",
        "Seeking a stable window period",
        "There are differences and collaborations",
        "Drive high-level engagement?",
        "Listen to what they say and observe what they do",
    )
    assert [a.published for a in articles[1:]] == [None] * 5
    assert [len(a.paragraphs) for a in articles] == [32, 1, 1, 1, 1, 1]
    assert first.paragraphs[0].section is None
    assert first.paragraphs[2].section == "Critical moment"
    assert first.paragraphs[-1].section == "Listen to what they say and observe what they do"
    assert articles[2].title.startswith("The Russian central bank urgently raised interest rates")
    assert articles[3].keywords == ("COVID-19 mutant EG. 5",)
    # Headings and title lines are not paragraphs.
    texts = {p.text for a in articles for p in a.paragraphs}
    assert "Critical moment" not in texts
    assert not any(t.startswith("Release time") for t in texts)


def test_offsets_resolve_to_text_for_every_paragraph_of_every_format(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text(
        "A title\n\nFirst para.\n\n  Second para, indented.  \n", "utf-8"
    )
    (tmp_path / "two.md").write_text("# Md title\n\nIntro.\n\n## Part\n\nBody text.\n", "utf-8")
    jsonl = tmp_path / "three.jsonl"
    jsonl.write_text(
        json.dumps({"title": "J", "text": "P one.\n\nP two.\r\n\r\nP three."}) + "\n", "utf-8"
    )
    news_folder(tmp_path / "news")  # a saved page, an RSS and an Atom feed, a WARC.gz
    articles, warnings = read_articles([tmp_path, SEED_CORPUS])
    assert warnings == []
    assert len(articles) == 3 + 5 + 6
    for article in articles:
        for paragraph in article.paragraphs:
            extracted = article.source.split("#")[0].endswith(NEW_KINDS)
            if paragraph.source.endswith(".jsonl:1") or extracted:
                # JSONL offsets index the article's text field; pages, feeds and crawls index
                # the text extracted from them, which the index keeps.
                source_text = article.text
            else:
                source_text = Path(paragraph.source).read_text(encoding="utf-8")
            assert source_text[paragraph.start : paragraph.end] == paragraph.text
            assert paragraph.text.strip() == paragraph.text and paragraph.text
        source_text = (
            article.text
            if article.source.endswith(":1") or article.source.split("#")[0].endswith(NEW_KINDS)
            else Path(article.source).read_text("utf-8")
        )
        assert source_text[article.start : article.start + len(article.text)] == article.text


def test_txt_and_md_single_article(tmp_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Storm hits coast\n\nThe storm arrived at dawn.\n\nPower was cut.\n", "utf-8")
    (article,), _ = parse_file(txt)
    assert article.title == "Storm hits coast"
    assert [p.text for p in article.paragraphs] == ["The storm arrived at dawn.", "Power was cut."]
    md = tmp_path / "b.md"
    md.write_text(
        "# Budget passed\n\nRelease time:Mar 3, 2023\n\n## Vote\n\nIt passed 60-40.\n", "utf-8"
    )
    (article,), _ = parse_file(md)
    assert article.title == "Budget passed"
    assert article.published == "2023-03-03"
    assert [(p.section, p.text) for p in article.paragraphs] == [("Vote", "It passed 60-40.")]


def test_jsonl_fields_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    lines = [
        json.dumps(
            {
                "id": "x1",
                "title": "Rates up",
                "text": "Banks raised rates.\n\nMarkets fell.",
                "published": "2023-08-15",
                "url": "http://example.invalid",
            }
        ),
        "{not json",
        json.dumps({"title": "No text"}),
        json.dumps({"title": 3, "text": "wrong title type"}),
        json.dumps(["a", "list"]),
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    articles, warnings = parse_file(path)
    assert len(articles) == 1
    article = articles[0]
    assert article.published == "2023-08-15"
    assert [p.text for p in article.paragraphs] == ["Banks raised rates.", "Markets fell."]
    assert article.paragraphs[0].source.endswith("news.jsonl:1")
    assert len(warnings) == 4
    assert any(":2: not valid JSON" in w for w in warnings)
    assert any(":3: 'text' is missing" in w for w in warnings)
    assert any(":4: 'title' must be a string" in w for w in warnings)
    assert any(":5: expected a JSON object" in w for w in warnings)


def test_article_ids_are_stable_and_distinct() -> None:
    first, _ = parse_file(SEED_CORPUS)
    second, _ = parse_file(SEED_CORPUS)
    assert [a.article_id for a in first] == [a.article_id for a in second]
    assert len({a.article_id for a in first}) == 6


def test_title_line_and_dates() -> None:
    assert split_title_line("Is Twitter hanging?, Threads up | Musk | Twitter") == (
        "Is Twitter hanging?, Threads up",
        ("Musk", "Twitter"),
    )
    assert parse_date("Apr 13, 2024 21:52 PM") == "2024-04-13"
    assert parse_date("2023-06-18T10:00:00Z") == "2023-06-18"
    assert parse_date("soon") is None


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file or folder"):
        read_articles([tmp_path / "nope"])
