"""Property-based tests of the parser: for any text, offsets resolve and nothing is lost.

"Nothing is lost" means: every non-whitespace character of the source is inside a paragraph,
or on a line that the parser consumed as an article's title line, a section heading or a
``Release time:`` line. The specification of those lines is written here independently of
the parser's own regular expressions.
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.ingest.corpus import decode_bytes, parse_jsonl, parse_markdown, parse_text
from qa.records import Article

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Pieces that exercise the parser's rules: line separators str.splitlines knows (and \n alone
# does not), repeated title lines, headings, release lines, Markdown markers, title keywords.
_PIECES = [
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    " ",
    "\t",
    "\xa0",
    "Title line\nTitle line\n",
    "Release time:Apr 13, 2024 21:52 PM",
    "Release time: soon",
    "Short heading",
    "A sentence of body text.",
    "Another one, longer, with a comma.",
    "# ",
    "## ",
    "### C# ##",
    " #",
    "Headline | kw one | kw two",
    " | ",
    "é",
    "\u200b",
    "\ufeff",
]
_TEXT = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=40).map("".join)

_RELEASE_LINE = re.compile(r"\s*Release time\s*[:：].*", re.IGNORECASE)


def _lines(source: str) -> list[tuple[int, int]]:
    """(start, end) of each line as str.splitlines cuts them, without the line break."""
    spans, position = [], 0
    for raw in source.splitlines(keepends=True):
        content = raw.splitlines()[0] if raw.splitlines() else ""
        spans.append((position, position + len(content)))
        position += len(raw)
    return spans


def _is_markdown_heading(line: str, section: str) -> bool:
    # CommonMark ATX heading: 1-6 '#', a space, the text, optionally a closing '#' run
    # after a space.
    pattern = r"#{1,6}\s+" + re.escape(section) + r"(?:\s+#+)?"
    return re.fullmatch(pattern, line.strip()) is not None


def _consumed(line: str, article: Article, markdown: bool, title_line: bool) -> bool:
    stripped = line.strip()
    if title_line:
        # The title line: it holds the headline and every keyword.
        if article.title in stripped and all(k in stripped for k in article.keywords):
            return True
    if _RELEASE_LINE.fullmatch(stripped):
        return True
    for section in article.sections:
        if markdown and _is_markdown_heading(stripped, section):
            return True
        if not markdown and stripped == section:
            return True
    return False


def check_articles(source: str, articles: list[Article], markdown: bool = False) -> None:
    covered = bytearray(len(source))
    lines = _lines(source)
    for article in articles:
        assert source[article.start : article.start + len(article.text)] == article.text
        previous_end = article.start
        for paragraph in article.paragraphs:
            assert source[paragraph.start : paragraph.end] == paragraph.text
            assert paragraph.text and paragraph.text == paragraph.text.strip()
            assert previous_end <= paragraph.start < paragraph.end
            assert paragraph.end <= article.start + len(article.text)
            previous_end = paragraph.end
            covered[paragraph.start : paragraph.end] = b"\x01" * len(paragraph.text)
    for number, (line_start, line_end) in enumerate(lines):
        line = source[line_start:line_end]
        loose = [
            i for i in range(line_start, line_end) if not covered[i] and not source[i].isspace()
        ]
        if not loose:
            continue
        owners = [a for a in articles if a.start <= loose[0] < a.start + len(a.text)]
        assert owners, f"line {line!r} belongs to no article: its text is lost"
        article = owners[0]
        # The title is the article's first line; a repeat of it may follow on the next line.
        first = next(n for n, (s, e) in enumerate(lines) if s <= article.start <= e)
        title_line = number == first or (
            number == first + 1 and line.strip() == source[slice(*lines[first])].strip()
        )
        assert _consumed(line, article, markdown, title_line), (
            f"line {line!r} is neither a paragraph, nor the title, a heading or a date line "
            f"of {article.title!r} (sections {article.sections})"
        )


@PROPERTY_SETTINGS
@given(_TEXT)
@example("Title\n\nBody one.\r\rBody two.\x0b\x0bBody three.")
@example("T\n\nA line\u2028Another line\n\nTail.")
def test_parse_text_offsets_resolve_and_nothing_is_lost(source: str) -> None:
    check_articles(source, parse_text(source, "p.txt"))


@PROPERTY_SETTINGS
@given(_TEXT)
@example("# Title\n\n## C#\n\nBody.")
@example("# Title\n\n## Part ##\n\nBody.")
@example("# T\n\nRelease time:Apr 13, 2024\n\nRelease time:May 1, 2024\n\nx")
def test_parse_markdown_offsets_resolve_and_nothing_is_lost(source: str) -> None:
    check_articles(source, parse_markdown(source, "p.md"), markdown=True)


_RECORD = st.fixed_dictionaries(
    {"title": st.one_of(st.none(), _TEXT), "text": _TEXT},
    optional={"id": st.one_of(st.integers(), st.text(max_size=5)), "published": _TEXT},
)


@PROPERTY_SETTINGS
@given(st.lists(_RECORD, max_size=6), st.booleans())
@example([{"title": "T", "text": "one\u2028two"}], False)
@example([{"title": "T", "text": "a"}, {"title": "T", "text": "b", "id": 1}], False)
def test_jsonl_every_record_with_text_is_an_article(records: list[dict], crlf: bool) -> None:
    # ensure_ascii=False writes U+2028 and U+0085 raw, as many JSONL writers do.
    newline = "\r\n" if crlf else "\n"
    source = newline.join(json.dumps(record, ensure_ascii=False) for record in records)
    articles, warnings = parse_jsonl(source, "p.jsonl")
    with_text = [r for r in records if r["text"].strip()]
    assert [a.text for a in articles] == [r["text"] for r in with_text]
    assert len(warnings) == len(records) - len(with_text)
    assert len({a.article_id for a in articles}) == len(articles)
    for article in articles:
        check_articles(article.text, [article])


_READABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff"),
    max_size=200,
) | st.lists(st.sampled_from(["abc", " ", "\n", "\r\n", "\t", "é", "€", "中文", "🙂"])).map("".join)


@PROPERTY_SETTINGS
@given(_READABLE, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_decode_bytes_round_trips_text_files(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == text
