"""The typed records that flow through Byline, one per stage (see STYLE.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of an article, with its exact place in the source text.

    ``start``/``end`` index the source text: the decoded file for .txt/.md, the ``text``
    field of the JSON object for .jsonl (then ``source`` ends in ``:LINE``).
    """

    article_id: str
    title: str
    published: str | None
    section: str | None
    index: int
    start: int
    end: int
    text: str
    source: str

    @property
    def paragraph_id(self) -> str:
        return f"{self.article_id}:{self.index}"


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    keywords: tuple[str, ...]
    published: str | None
    source: str
    start: int
    text: str
    paragraphs: tuple[Paragraph, ...]
    sections: tuple[str, ...] = ()
    url: str | None = None  # the page's canonical URL or the feed entry's link, when known
    author: str | None = None  # as the page or feed names them, when it does


@dataclass(frozen=True)
class ArticleRef:
    """Another article carrying the same story (a syndicated copy), as a card lists it."""

    article_id: str
    title: str
    published: str | None
    source: str


@dataclass(frozen=True)
class Passage:
    """A retrieved paragraph: what ``retrieve`` returns, best first."""

    text: str
    score: float
    rank: int
    article_id: str
    title: str
    published: str | None
    section: str | None
    paragraph: int
    source: str
    start: int
    end: int
    highlights: tuple[tuple[int, int], ...] = ()
    # The other copies of this article's story (qa.index.syndication), whose cards were collapsed
    # into this one; empty when there are none.
    also_in: tuple[ArticleRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The passage as JSON-ready data, as ``byline ask --json`` and ``/ask`` print it."""
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        data["also_in"] = [asdict(ref) for ref in self.also_in]
        return data


@dataclass(frozen=True)
class ArticleInfo:
    """One indexed article as ``list_articles`` lists it: id, headline, date (None when the
    article has none), how many paragraphs it was cut into, and the file it came from."""

    article_id: str
    title: str
    published: str | None
    paragraphs: int
    source: str


@dataclass(frozen=True)
class ArticleText:
    """An article's whole text as it stands in the source, for the open-article view.

    ``text == source_text[start:start + len(text)]``, so a passage's span inside ``text``
    is ``passage.start - start .. passage.end - start``.
    """

    article_id: str
    title: str
    published: str | None
    source: str
    start: int
    text: str


@dataclass(frozen=True)
class FormatReport:
    """What a build read of one source format (txt, md, jsonl, html, feed, warc).

    ``files``: files of the format read; ``articles``: articles indexed from them;
    ``undated``: those of them without a ``published`` date; ``skipped``: the parts left out
    (files, JSONL lines, feed entries, crawl records) counted by reason.
    """

    kind: str
    files: int = 0
    articles: int = 0
    undated: int = 0
    skipped: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "articles": self.articles,
            "undated": self.undated,
            "skipped": dict(self.skipped),
        }


@dataclass(frozen=True)
class BuildReport:
    """What a build did.

    ``embedded``, ``reused`` and ``removed`` count distinct *windows*, the units that are
    embedded (a paragraph, or one sentence window of a paragraph too long for the model),
    each identified by the content hash of (model, embedded text):

    - ``embedded``: windows embedded by this build (new or changed text, or a new model);
    - ``reused``: windows of the new version whose stored vectors were reused;
    - ``removed``: windows of the previous version that the new version no longer has.

    ``embedded + reused`` is the number of distinct windows of the new version, so an
    unchanged corpus gives ``embedded == 0``. ``full_rebuild_reason`` says why nothing was
    reused although an index existed (``--full``, another model, a damaged current version);
    it is None for an incremental or a first build. ``skipped`` has one warning per file,
    JSONL line or article that was not indexed, naming it and the reason. ``formats`` counts
    files, articles, undated articles and skipped parts per source format.
    """

    articles: int
    paragraphs: int
    embedded: int
    seconds: float
    index: str
    reused: int = 0
    removed: int = 0
    skipped: tuple[str, ...] = field(default_factory=tuple)
    full_rebuild_reason: str | None = None
    formats: tuple[FormatReport, ...] = ()  # per source format, in the order first read

    @property
    def undated(self) -> int:
        """Articles without a ``published`` date: the date filters never match them."""
        return sum(report.undated for report in self.formats)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, the last line ``byline build --json`` prints."""
        return {
            "articles": self.articles,
            "paragraphs": self.paragraphs,
            "embedded": self.embedded,
            "reused": self.reused,
            "removed": self.removed,
            "seconds": round(self.seconds, 3),
            "index": self.index,
            "skipped": list(self.skipped),
            "full_rebuild_reason": self.full_rebuild_reason,
            "undated": self.undated,
            "formats": {report.kind: report.to_dict() for report in self.formats},
        }
