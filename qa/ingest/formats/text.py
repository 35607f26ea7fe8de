"""Plain-text articles: the seed archive's ``.txt`` format and Markdown.

A ``.txt`` file may hold one article or many in the seed archive's format (see
``shared/corpus/README.md``): an article starts at the top of the file, at a title line
repeated on two consecutive lines, or at a title line followed by a ``Release time:`` line.
Markdown (.md) holds one article: ``# Title``, ``## Section`` headings. Offsets index the
decoded file; blank lines separate paragraphs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from qa.records import Article, Paragraph

_RELEASE_TIME = re.compile(r"^\s*Release time\s*[:：]\s*(.+?)\s*$", re.IGNORECASE)
_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")
_HEADING_MAX_CHARS = 80
_HEADING_MAX_WORDS = 12
# A line ending in one of these reads as a sentence, not a section heading. "?" is absent on
# purpose: the seed archive has headings such as "Drive high-level engagement?".
_SENTENCE_END = tuple(".!,;:\"'”’)…")


@dataclass(frozen=True)
class _Block:
    """A run of non-blank lines: the unit that becomes a paragraph, heading or title."""

    start: int
    end: int
    lines: tuple[tuple[int, int], ...]  # (start, end) of each line, end excludes the newline

    def text(self, source: str) -> str:
        return source[self.start : self.end]

    def line(self, source: str, number: int) -> str:
        start, end = self.lines[number]
        return source[start:end]


def stable_id(*parts: str) -> str:
    """A short id that is the same in every process (unlike ``hash()``)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the date forms news archives use, or None."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    # "Apr 13, 2024 21:52 PM": the date is the first three words.
    candidates = [value, " ".join(value.split()[:3]), " ".join(value.split()[:2])]
    for candidate in candidates:
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    return None


def split_title_line(line: str) -> tuple[str, tuple[str, ...]]:
    """``Headline, kw | kw | kw`` -> (headline, keywords): the headline is what precedes the
    first `` | `` (it may contain commas and question marks)."""
    parts = [part.strip() for part in line.split(" | ")]
    headline = parts[0].strip()
    keywords = tuple(part for part in parts[1:] if part)
    return headline, keywords


def text_blocks(source: str) -> list[_Block]:
    blocks: list[_Block] = []
    lines: list[tuple[int, int]] = []
    position = 0
    for raw in source.splitlines(keepends=True):
        content = raw.rstrip("\r\n")
        line_start = position
        position += len(raw)
        if content.strip():
            # Trim surrounding spaces so that offsets point at visible text.
            stripped_start = line_start + (len(content) - len(content.lstrip()))
            stripped_end = line_start + len(content.rstrip())
            lines.append((stripped_start, stripped_end))
        elif lines:
            blocks.append(_Block(lines[0][0], lines[-1][1], tuple(lines)))
            lines = []
    if lines:
        blocks.append(_Block(lines[0][0], lines[-1][1], tuple(lines)))
    return blocks


def _is_heading_text(text: str) -> bool:
    return (
        len(text.splitlines()) == 1
        and len(text) <= _HEADING_MAX_CHARS
        and len(text.split()) <= _HEADING_MAX_WORDS
        and not text.endswith(_SENTENCE_END)
    )


def _article_starts(source: str, blocks: list[_Block]) -> list[int]:
    """Indexes of the blocks that open an article (always block 0)."""
    starts = [0] if blocks else []
    for number, block in enumerate(blocks):
        if number == 0:
            continue
        repeated = len(block.lines) >= 2 and block.line(source, 0) == block.line(source, 1)
        dated = (
            len(block.lines) == 1
            and number + 1 < len(blocks)
            and _RELEASE_TIME.match(blocks[number + 1].line(source, 0)) is not None
        )
        if repeated or dated:
            starts.append(number)
    return starts


class ArticleBuilder:
    """Collects the paragraphs of one article, numbering them and tracking sections."""

    def __init__(self, source: str, source_name: str, id_key: str, title: str) -> None:
        self.source = source
        self.source_name = source_name
        self.id_key = id_key
        self.title = title
        self.keywords: tuple[str, ...] = ()
        self.published: str | None = None
        self.section: str | None = None
        self.sections: list[str] = []
        self.spans: list[tuple[int, int, str | None]] = []

    def add_heading(self, text: str) -> None:
        self.section = text
        self.sections.append(text)

    def add_paragraph(self, start: int, end: int) -> None:
        self.spans.append((start, end, self.section))

    def build(self, article_start: int, article_end: int, text: str | None = None) -> Article:
        article_id = stable_id(self.id_key, self.title)
        paragraphs = tuple(
            Paragraph(
                article_id=article_id,
                title=self.title,
                published=self.published,
                section=section,
                index=number,
                start=start,
                end=end,
                text=self.source[start:end],
                source=self.source_name,
            )
            for number, (start, end, section) in enumerate(self.spans, start=1)
        )
        return Article(
            article_id=article_id,
            title=self.title,
            keywords=self.keywords,
            published=self.published,
            source=self.source_name,
            start=article_start,
            text=text if text is not None else self.source[article_start:article_end],
            paragraphs=paragraphs,
            sections=tuple(self.sections),
        )


def _headings(source: str, body: list[_Block]) -> list[bool]:
    """Which blocks are section headings: heading-like text with a paragraph somewhere after
    it (trailing heading-like blocks are short paragraphs). One pass from the end, so a file
    of thousands of short lines stays linear."""
    result = [False] * len(body)
    paragraph_after = False
    for number in range(len(body) - 1, -1, -1):
        heading_like = _is_heading_text(body[number].text(source))
        result[number] = heading_like and paragraph_after
        paragraph_after = paragraph_after or not heading_like
    return result


def parse_text(source: str, source_name: str, id_key: str | None = None) -> list[Article]:
    """Articles of a .txt file in the seed archive's format (one article is a special case)."""
    blocks = text_blocks(source)
    starts = _article_starts(source, blocks)
    articles: list[Article] = []
    seen_titles: dict[str, int] = {}
    for position, first in enumerate(starts):
        last = starts[position + 1] if position + 1 < len(starts) else len(blocks)
        article_blocks = blocks[first:last]
        title_block = article_blocks[0]
        headline, keywords = split_title_line(title_block.line(source, 0))
        # Two articles with one headline in one file still need two ids.
        seen_titles[headline] = seen_titles.get(headline, 0) + 1
        key = id_key or source_name
        if seen_titles[headline] > 1:
            key = f"{key}#{seen_titles[headline]}"
        builder = ArticleBuilder(source, source_name, key, headline)
        builder.keywords = keywords
        body = list(article_blocks[1:])
        # A repeated title line: skip the repeat; anything after it in the block is body.
        skip_lines = (
            2
            if (
                len(title_block.lines) >= 2
                and title_block.line(source, 0) == title_block.line(source, 1)
            )
            else 1
        )
        if len(title_block.lines) > skip_lines:
            rest_start = title_block.lines[skip_lines][0]
            builder.add_paragraph(rest_start, title_block.end)
        if body:
            release = _RELEASE_TIME.match(body[0].line(source, 0))
            if release and len(body[0].lines) == 1:
                builder.published = parse_date(release.group(1))
                body = body[1:]
        for block, heading in zip(body, _headings(source, body), strict=True):
            if heading:
                builder.add_heading(block.text(source))
            else:
                builder.add_paragraph(block.start, block.end)
        article_end = article_blocks[-1].end
        articles.append(builder.build(title_block.start, article_end))
    return articles


# An ATX heading; a closing run of '#' counts only after a space, so "## C#" is "C#".
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")


def parse_markdown(source: str, source_name: str, id_key: str | None = None) -> list[Article]:
    """One article: the first ``# heading`` (or first line) is the title, deeper headings are
    sections, every other block is a paragraph."""
    blocks = text_blocks(source)
    if not blocks:
        return []
    first_line = blocks[0].line(source, 0)
    heading = _MD_HEADING.match(first_line)
    title = heading.group(2) if heading and heading.group(2) else first_line
    title, keywords = split_title_line(title)
    builder = ArticleBuilder(source, source_name, id_key or source_name, title)
    builder.keywords = keywords
    rest_lines = blocks[0].lines[1:]
    body_blocks = blocks[1:]
    if rest_lines:
        body_blocks = [_Block(rest_lines[0][0], blocks[0].end, rest_lines), *body_blocks]
    for block in body_blocks:
        first = block.line(source, 0)
        match = _MD_HEADING.match(first)
        if match:
            builder.add_heading(match.group(2))
            if len(block.lines) > 1:
                builder.add_paragraph(block.lines[1][0], block.end)
            continue
        release = _RELEASE_TIME.match(first)
        if release and len(block.lines) == 1 and builder.published is None:
            builder.published = parse_date(release.group(1))
            continue
        builder.add_paragraph(block.start, block.end)
    return [builder.build(blocks[0].start, blocks[-1].end)]
