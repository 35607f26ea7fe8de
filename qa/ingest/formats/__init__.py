"""Parsers for news sources that are not plain text: saved pages, feeds and crawls.

Each module turns one file into ``Article`` records whose ``text`` is the text Byline
extracted (not the markup), so paragraph offsets index ``article.text`` as they do for JSONL:
``article.text[p.start - article.start : p.end - article.start] == p.text``.

- :mod:`qa.ingest.formats.html`: an article page (.html, .htm), through trafilatura;
- :mod:`qa.ingest.formats.feed`: an RSS or Atom feed (.xml, .rss, .atom), through feedparser;
- :mod:`qa.ingest.formats.warc`: a web crawl (.warc, .warc.gz), through warcio, record by record.

Every parser returns ``Parsed``; the modules import their libraries lazily so that
``byline --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from qa.ingest.formats.common import Parsed

# Format of each file suffix, as the build report names it.
KINDS = {
    ".txt": "txt",
    ".md": "md",
    ".jsonl": "jsonl",
    ".html": "html",
    ".htm": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".warc": "warc",
    ".warc.gz": "warc",
}
SOURCE_KINDS = frozenset({"html", "feed", "warc"})

__all__ = ["KINDS", "SOURCE_KINDS", "Parsed", "kind_of", "parse_source_file", "suffix_of"]


def suffix_of(path: Path) -> str:
    """The suffix that decides a file's format, lower case; ``.warc.gz`` is one suffix."""
    name = path.name.lower()
    return ".warc.gz" if name.endswith(".warc.gz") else path.suffix.lower()


def kind_of(path: Path) -> str | None:
    return KINDS.get(suffix_of(path))


def parse_source_file(path: Path, name: str, data: bytes | None) -> Parsed:
    """A page, feed or crawl. ``data`` is the file's bytes (read under the size limit by
    qa.ingest.corpus), or None for a WARC, which streams from ``path`` whatever its size."""
    kind = kind_of(path)
    if kind == "warc":
        from qa.ingest.formats.warc import parse_warc

        return parse_warc(path, name)
    if data is None or not data.strip():
        return Parsed(warnings=(f"{name}: skipped, the file is empty",), skipped=(("empty", 1),))
    if kind == "feed":
        from qa.ingest.formats.feed import parse_feed

        return parse_feed(data, name)
    from qa.ingest.formats.html import parse_html

    return parse_html(data, name)
