"""Saved article pages (.html, .htm) -> one Article of the page's main text.

trafilatura finds the article body and leaves out menus, ads, comments, "related stories",
share buttons and footers; its metadata step gives the headline, the canonical URL and (via
htmldate) the publication date. Dates come from the page's markup only (meta tags, JSON-LD,
``<time>``): htmldate's guesses from the URL or from "© 2024" in a footer would put a wrong
date on a citation, and no date is better than a wrong one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qa.ingest.formats.common import (
    MIN_ARTICLE_WORDS,
    Block,
    Parsed,
    build_article,
    squash,
    word_count,
)
from qa.ingest.formats.text import parse_date, stable_id

NO_ARTICLE = "no article text found in the page (only menus, scripts or boilerplate)"
_DATE_PARAMS = {"extensive_search": False, "original_date": True}
# trafilatura's body tags that hold readable text; tables and images are left out (a news
# table cut into cells reads as noise, and a citation cannot point into an image).
_TEXT_TAGS = frozenset({"p", "head", "quote", "code", "list"})


def _blocks(body: object) -> list[Block]:
    blocks: list[Block] = []
    for element in getattr(body, "iterchildren", lambda: [])():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in _TEXT_TAGS:
            continue
        if tag == "list":  # one paragraph per item, so a citation points at the item
            items = [squash("".join(item.itertext())) for item in element.iter("item")]
            blocks.extend(Block(item) for item in items if item)
            continue
        text = squash("".join(element.itertext()))
        if text:
            blocks.append(Block(text, heading=tag == "head"))
    return blocks


def parse_html(
    data: bytes | str, source: str, *, url: str | None = None, id_key: str | None = None
) -> Parsed:
    """The article of one page. ``url`` is where the page was fetched from (a WARC record's
    URL), used when the page names no canonical URL. A page without an article gives one
    warning, never an exception."""
    import trafilatura

    # trafilatura logs every page it finds empty; the build's own warning says it once.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    try:
        document = trafilatura.bare_extraction(
            data,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
            date_extraction_params=_DATE_PARAMS,
        )
    # A page can break the parser in many ways (lxml errors, recursion on absurd nesting);
    # each means the same here: this page gives no article.
    except Exception as error:
        return _skip(source, f"the page cannot be parsed ({error})", "page cannot be parsed")
    if document is None or isinstance(document, dict):  # dict only with as_dict=True
        return _skip(source, NO_ARTICLE, "no article text")
    blocks = _blocks(document.body)
    if word_count(blocks) < MIN_ARTICLE_WORDS:
        return _skip(source, NO_ARTICLE, "no article text")
    title = squash(document.title or "") or next(
        (b.text for b in blocks if b.heading), Path(source.split("#")[0]).stem
    )
    published = parse_date(document.date) if document.date else None
    article = build_article(
        blocks,
        article_id=stable_id(id_key or source, title),
        title=title,
        source=source,
        published=published,
        url=document.url or url,
        author=squash(document.author or "") or None,
    )
    if article is None:
        return _skip(source, NO_ARTICLE, "no article text")
    return Parsed(articles=(article,))


def _skip(source: str, why: str, reason: str) -> Parsed:
    return Parsed(warnings=(f"{source}: skipped, {why}",), skipped=((reason, 1),))
