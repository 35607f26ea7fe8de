"""Saved pages, feeds and crawls: extracted text, dates, URLs, sources and exact offsets;
hostile inputs of each kind give one clear warning, never an exception."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from qa.ingest.corpus import SUPPORTED_SUFFIXES, parse_file, read_articles, read_corpus
from qa.records import Article
from tests.format_fixtures import (
    ATOM_FEED,
    BOILERPLATE,
    CRAWLED_PAGE,
    CRAWLED_URL,
    PAGE_HTML,
    RSS_FEED,
    news_folder,
    write_warc,
)


def _assert_offsets(article: Article) -> None:
    assert article.paragraphs
    for paragraph in article.paragraphs:
        start, end = paragraph.start - article.start, paragraph.end - article.start
        assert article.text[start:end] == paragraph.text
        assert paragraph.text == paragraph.text.strip() and paragraph.text
        assert paragraph.published == article.published
        assert paragraph.source == article.source


def _no_boilerplate(article: Article) -> None:
    for word in BOILERPLATE:
        assert word.lower() not in article.text.lower(), (word, article.source)


def test_html_page_keeps_the_story_and_drops_the_boilerplate(tmp_path: Path) -> None:
    page = tmp_path / "tunnel.html"
    page.write_text(PAGE_HTML, encoding="utf-8")
    (article,), warnings = parse_file(page)
    assert warnings == []
    assert article.title == "Harbour tunnel opens after six years"
    assert article.published == "2024-05-14"
    assert article.url == "https://coastal.example/2024/05/harbour-tunnel-opens"
    assert article.author == "Mira Okafor"
    assert article.source == str(page)
    assert [p.text[:30] for p in article.paragraphs] == [
        "The harbour tunnel linking the",
        "The city engineer said the tun",
        "Commuters from the eastern sub",
    ]
    assert article.paragraphs[2].section == "Traffic relief"
    assert article.sections == ("Traffic relief",)
    assert "repairs & repainting" in article.paragraphs[2].text  # entities decoded
    assert "\n" not in article.paragraphs[0].text  # the page's line breaks are spaces
    _assert_offsets(article)
    _no_boilerplate(article)


def test_html_date_is_never_guessed_from_the_url_or_footer(tmp_path: Path) -> None:
    undated = PAGE_HTML.replace(
        '<meta property="article:published_time" content="2024-05-14T08:30:00Z">', ""
    )
    page = tmp_path / "undated.htm"
    page.write_text(undated, encoding="utf-8")
    (article,), _ = parse_file(page)
    assert article.published is None  # the URL says 2024/05 and the footer © 2024


def test_rss_entries_are_articles_with_content_dates_and_links(tmp_path: Path) -> None:
    feed = tmp_path / "valley.rss"
    feed.write_text(RSS_FEED, encoding="utf-8")
    articles, warnings = parse_file(feed)
    assert warnings == []
    library, rain = articles
    assert library.title == "Council approves new riverside library"
    assert library.published == "2024-07-02"
    assert library.url == "https://valley.example/library"
    assert library.source == f"{feed}#https://valley.example/library"
    # The full content, not the teaser, and no script.
    assert len(library.paragraphs) == 2
    assert "teaser" not in library.text and "alert" not in library.text
    assert rain.published == "2024-07-03"
    assert rain.paragraphs[0].text.startswith("Forecasters warned")  # summary only
    for article in articles:
        _assert_offsets(article)


def test_atom_entry_uses_published_before_updated(tmp_path: Path) -> None:
    feed = tmp_path / "orchard.atom"
    feed.write_text(ATOM_FEED, encoding="utf-8")
    (article,), warnings = parse_file(feed)
    assert warnings == []
    assert article.published == "2023-10-05"
    assert article.url == "https://orchard.example/harvest"
    assert article.author == "Lena Brook"
    assert [p.text[:12] for p in article.paragraphs] == ["Apple grower", "Cider makers"]
    _assert_offsets(article)


def test_warc_gz_html_responses_become_articles_named_by_file_and_url(tmp_path: Path) -> None:
    crawl = write_warc(tmp_path / "crawl.warc.gz", [(CRAWLED_URL, CRAWLED_PAGE)])
    (article,), warnings = parse_file(crawl)
    assert warnings == []
    assert article.source == f"{crawl}#{CRAWLED_URL}"
    assert article.title == "Museum returns bronze statues to their home city"
    assert article.published == "2022-03-09"
    assert article.url == CRAWLED_URL
    assert len(article.paragraphs) == 2
    _assert_offsets(article)
    _no_boilerplate(article)


def test_plain_warc_reads_like_a_gzipped_one(tmp_path: Path) -> None:
    crawl = write_warc(tmp_path / "crawl.warc", [(CRAWLED_URL, CRAWLED_PAGE)], gzip=False)
    (article,), warnings = parse_file(crawl)
    assert warnings == [] and article.published == "2022-03-09"


def test_offsets_and_report_counts_for_every_new_format(tmp_path: Path) -> None:
    folder = news_folder(tmp_path / "news")
    articles, warnings, formats = read_corpus([folder])
    assert warnings == []
    assert len(articles) == 1 + 2 + 1 + 1
    for article in articles:
        _assert_offsets(article)
    by_kind = {report.kind: report for report in formats}
    assert (by_kind["html"].files, by_kind["html"].articles, by_kind["html"].undated) == (1, 1, 0)
    assert (by_kind["feed"].files, by_kind["feed"].articles) == (2, 3)
    warc = by_kind["warc"]
    assert (warc.files, warc.articles) == (1, 1)
    assert dict(warc.skipped) == {
        "warcinfo record": 1,
        "request record": 1,
        "non-HTML response": 1,
        "HTTP 404 response": 1,
    }


def test_suffixes_include_the_double_warc_gz_suffix(tmp_path: Path) -> None:
    assert {".html", ".htm", ".xml", ".rss", ".atom", ".warc", ".warc.gz"} <= set(
        SUPPORTED_SUFFIXES
    )
    write_warc(tmp_path / "a.WARC.GZ", [(CRAWLED_URL, CRAWLED_PAGE)])
    (tmp_path / "b.gz").write_bytes(gzip.compress(b"not a crawl"))
    articles, warnings = read_articles([tmp_path])
    assert len(articles) == 1
    assert len(warnings) == 1 and "b.gz" in warnings[0] and "unsupported" in warnings[0]


# Hostile inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "menu.html",
            "<html><body><nav><a>Home</a> <a>World</a></nav><p>Subscribe</p></body></html>",
            "no article text found in the page",
        ),
        (
            "script.html",
            "<html><head><script>while(1){}</script></head><body><script>"
            "document.write('<p>' + 'x '.repeat(500) + '</p>')</script></body></html>",
            "no article text found in the page",
        ),
        ("binary.htm", "\x00\x01\x02PNG\x00", "no article text found in the page"),
        ("empty.html", "", "the file is empty"),
        (
            "page.xml",
            "<html><body><p>Not a feed at all</p></body></html>",
            "not an RSS or Atom feed",
        ),
        ("empty.rss", "", "the file is empty"),
    ],
)
def test_hostile_pages_and_feeds_give_one_clear_warning(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    articles, warnings = parse_file(path)
    assert articles == []
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}: skipped, {reason}")


def test_feed_with_broken_entities_keeps_its_entries_and_says_so(tmp_path: Path) -> None:
    broken = RSS_FEED.replace("Heavy rain expected", "Heavy &bogus; rain &nbsp; expected")
    feed = tmp_path / "broken.rss"
    feed.write_text(broken, encoding="utf-8")
    articles, warnings = parse_file(feed)
    assert len(articles) == 2
    assert len(warnings) == 1
    assert "the feed has errors" in warnings[0] and "undefined entity" in warnings[0]
    assert "the 2 entries that could be read are indexed" in warnings[0]


@pytest.mark.parametrize("cut", [0.35, 0.6, 0.9, 0.99])
def test_truncated_warc_keeps_the_records_before_the_cut(tmp_path: Path, cut: float) -> None:
    whole = write_warc(
        tmp_path / "whole.warc.gz",
        [(CRAWLED_URL, CRAWLED_PAGE), ("https://coastal.example/tunnel", PAGE_HTML)],
    )
    data = whole.read_bytes()
    crawl = tmp_path / "cut.warc.gz"
    crawl.write_bytes(data[: int(len(data) * cut)])
    articles, warnings = parse_file(crawl)
    assert len(warnings) == 1
    assert "truncated or damaged" in warnings[0] and str(crawl) in warnings[0]
    assert f"the {len(articles)} article(s) read before it are indexed" in warnings[0]
    if cut >= 0.9:
        assert len(articles) == 2  # the cut falls after both pages: both are kept


def test_not_a_warc_and_an_empty_warc(tmp_path: Path) -> None:
    (tmp_path / "text.warc").write_text("hello, not a crawl", encoding="utf-8")
    (tmp_path / "nothing.warc.gz").write_bytes(b"")
    _, warnings = read_articles([tmp_path])
    assert len(warnings) == 2
    assert any("text.warc: skipped, not a WARC file" in w for w in warnings)
    assert any("nothing.warc.gz: skipped, no WARC record in it" in w for w in warnings)


def test_huge_html_is_refused_by_the_size_limit_but_a_warc_is_not(tmp_path: Path) -> None:
    huge = tmp_path / "huge.html"
    with huge.open("wb") as handle:  # sparse: 2 GB on paper, nothing on disk
        handle.truncate(2 * 2**30)
    articles, warnings = parse_file(huge)
    assert articles == []
    assert warnings == [
        f"{huge}: skipped, larger than 50 MB (2048.0 MB); split it into smaller files"
    ]
    crawl = write_warc(tmp_path / "crawl.warc.gz", [(CRAWLED_URL, CRAWLED_PAGE)])
    articles, warnings = parse_file(crawl, max_bytes=100)  # far smaller than the crawl
    assert len(articles) == 1 and warnings == []


def test_html_pages_decode_from_their_own_charset(tmp_path: Path) -> None:
    body = (
        "<html><head><meta charset='iso-8859-1'><title>Café opens in Málaga</title></head>"
        "<body><article><h1>Café opens in Málaga</h1><p>The new café in Málaga serves crème "
        "brûlée at dawn to the fishermen coming back from the harbour every morning of the "
        "week.</p></article></body></html>"
    )
    page = tmp_path / "cafe.html"
    page.write_bytes(body.encode("latin-1"))
    (article,), _ = parse_file(page)
    assert article.title == "Café opens in Málaga"
    assert "crème brûlée" in article.paragraphs[0].text
