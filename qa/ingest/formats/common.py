"""What the source formats share: blocks of text -> an Article with exact offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qa.records import Article, Paragraph

# Extracted text shorter than this is a menu, a cookie notice or a "Subscribe" box left over
# from a page without an article, not a story worth citing.
MIN_ARTICLE_WORDS = 20
PARAGRAPH_SEPARATOR = "\n\n"
_BLOCK_TAGS = frozenset(
    "p div li blockquote pre dd dt figcaption td th tr section article h1 h2 h3 h4 h5 h6".split()
)
_HEADING_TAGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Block:
    """One paragraph or section heading of extracted text, whitespace already collapsed."""

    text: str
    heading: bool = False


@dataclass(frozen=True)
class Parsed:
    """What parsing one file gave: its articles, a warning per problem, and the parts left
    out, counted by reason (for the build report: ``(("request record", 12), ...)``)."""

    articles: tuple[Article, ...] = ()
    warnings: tuple[str, ...] = ()
    skipped: tuple[tuple[str, int], ...] = field(default_factory=tuple)


def squash(text: str) -> str:
    """Whitespace runs (newlines included) -> one space: a block is one line of text."""
    return " ".join(text.split())


def word_count(blocks: Iterable[Block]) -> int:
    return sum(len(block.text.split()) for block in blocks if not block.heading)


def build_article(
    blocks: Sequence[Block],
    *,
    article_id: str,
    title: str,
    source: str,
    published: str | None,
    url: str | None,
    author: str | None = None,
) -> Article | None:
    """An article whose text is the blocks joined by blank lines (headings included, so the
    open-article view shows them); paragraphs index that text from 0. None when no block
    is a paragraph."""
    # A leading heading that repeats the headline is the page's <h1>, not a section.
    if blocks and blocks[0].heading and blocks[0].text == title:
        blocks = blocks[1:]
    pieces: list[str] = []
    paragraphs: list[Paragraph] = []
    sections: list[str] = []
    section: str | None = None
    position = 0
    for block in blocks:
        if not block.text:
            continue
        if pieces:
            position += len(PARAGRAPH_SEPARATOR)
        start, end = position, position + len(block.text)
        pieces.append(block.text)
        position = end
        if block.heading:
            section = block.text
            sections.append(section)
            continue
        paragraphs.append(
            Paragraph(
                article_id=article_id,
                title=title,
                published=published,
                section=section,
                index=len(paragraphs) + 1,
                start=start,
                end=end,
                text=block.text,
                source=source,
            )
        )
    if not paragraphs:
        return None
    return Article(
        article_id=article_id,
        title=title,
        keywords=(),
        published=published,
        source=source,
        start=0,
        text=PARAGRAPH_SEPARATOR.join(pieces),
        paragraphs=tuple(paragraphs),
        sections=tuple(sections),
        url=url,
        author=author or None,
    )


def fragment_blocks(fragment: str) -> list[Block]:
    """Blocks of an HTML fragment (a feed entry's content, already sanitised by feedparser):
    block elements and blank lines end paragraphs, scripts and styles are dropped. Plain
    text is a fragment too."""
    from lxml import etree
    from lxml import html as lxml_html

    if not fragment.strip():
        return []
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):  # nothing parseable in it
        return [Block(squash(part)) for part in _BLANK_LINES.split(fragment) if part.strip()]
    for element in root.xpath(".//script | .//style | .//noscript"):
        element.drop_tree()
    headings: set[str] = set()
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _BLOCK_TAGS:
            if tag in _HEADING_TAGS:
                headings.add(squash(element.text_content()))
            element.text = "\n\n" + (element.text or "")
            element.tail = "\n\n" + (element.tail or "")
        elif tag == "br":
            element.tail = "\n" + (element.tail or "")
    text = root.text_content()
    blocks = [squash(part) for part in _BLANK_LINES.split(text)]
    return [Block(part, heading=part in headings) for part in blocks if part]
