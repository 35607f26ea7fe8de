"""RSS and Atom feeds (.xml, .rss, .atom) -> one Article per entry.

feedparser reads every RSS and Atom dialect, recovers from broken markup (undefined entities,
bad nesting) and sanitises the HTML in entries. An entry's text is its full content when the
feed carries it (``content:encoded``, Atom ``<content>``), else its summary; its date is the
published date, else the updated one. ``source`` is the feed's file (or URL) and the entry's
link: ``feed.xml#https://news.example/story``.
"""

from __future__ import annotations

import time
from typing import Any

from qa.ingest.formats.common import Block, Parsed, build_article, fragment_blocks, squash
from qa.ingest.formats.text import stable_id

NOT_A_FEED = "not an RSS or Atom feed"


def _date(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            return time.strftime("%Y-%m-%d", value)
    return None


def _entry_blocks(entry: Any) -> list[Block]:
    """The longest of the entry's contents (some feeds carry a teaser and the story), else its
    summary."""
    contents = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, dict)]
    best = max(contents, key=len, default="")
    blocks = fragment_blocks(best) if best.strip() else []
    if not blocks:
        blocks = fragment_blocks(entry.get("summary") or "")
    return blocks


def parse_feed(data: bytes, source: str) -> Parsed:
    """The entries of one feed document. Always bytes: feedparser takes a str for a URL or a
    path and would open it."""
    import feedparser

    # Never let feedparser go to the network or the disk on its own, whatever it is given.
    parsed = feedparser.parse(bytes(data), resolve_relative_uris=False)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = list(parsed.get("entries") or [])
    if not entries:
        why = f"{NOT_A_FEED}, or a feed with no entries"
        if problem is not None:
            why += f" ({squash(str(problem))[:160]})"
        return Parsed(warnings=(f"{source}: skipped, {why}",), skipped=((NOT_A_FEED, 1),))
    articles = []
    warnings: list[str] = []
    empty = 0
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        link = entry.get("link") or None
        entry_id = entry.get("id") or link or f"entry-{number}"
        title = squash(entry.get("title") or "") or f"Entry {number}"
        seen[entry_id] = seen.get(entry_id, 0) + 1
        key = f"{source}|{entry_id}" + (f"#{seen[entry_id]}" if seen[entry_id] > 1 else "")
        article = build_article(
            _entry_blocks(entry),
            article_id=stable_id(key, title),
            title=title,
            source=f"{source}#{link or entry_id}",
            published=_date(entry),
            url=link,
            author=squash(entry.get("author") or "") or None,
        )
        if article is None:
            empty += 1
            continue
        articles.append(article)
    if empty:
        warnings.append(
            f"{source}: skipped {empty} entr{'y' if empty == 1 else 'ies'} with no text"
        )
    if problem is not None:
        # Broken markup that feedparser recovered from: what it read is indexed, once said.
        warnings.append(
            f"{source}: the feed has errors ({squash(str(problem))[:160]}); the "
            f"{len(articles)} entries that could be read are indexed"
        )
    skipped = (("entry with no text", empty),) if empty else ()
    return Parsed(articles=tuple(articles), warnings=tuple(warnings), skipped=skipped)
