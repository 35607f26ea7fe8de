"""Web crawls (.warc, .warc.gz) -> one Article per HTML page, read record by record.

warcio streams the file (gzip members included), so memory holds one record at a time and
the extracted articles, never the crawl: a multi-GB crawl needs no more memory than a small
one (``bench/warc_memory.py`` measures it), which is why the per-file size limit does not
apply here. Each HTML response record goes through :func:`qa.ingest.formats.html.parse_html`;
every other record (requests, metadata, images, redirects) is counted by kind in the report.
``source`` is the file and the record's URL: ``crawl.warc.gz#https://news.example/story``.
"""

from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from qa.ingest.formats.common import Parsed, squash
from qa.ingest.formats.html import parse_html
from qa.records import Article

# One page larger than this is not an article page (or is a hostile one); it is skipped.
MAX_RECORD_BYTES = 20 * 2**20
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def parse_warc(path: Path, source: str) -> Parsed:
    """The article pages of one crawl. A truncated or damaged file keeps the articles read
    before the damage and says where it stopped; nothing raises."""
    from warcio.archiveiterator import ArchiveIterator

    articles: list[Article] = []
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    records = 0
    try:
        with _open(path) as handle:
            for record in ArchiveIterator(handle):
                records += 1
                reason = _why_not_a_page(record)
                if reason is not None:
                    skipped[reason] += 1
                    _drain(record)
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI") or f"record-{records}"
                payload = record.content_stream().read(MAX_RECORD_BYTES + 1)
                if len(payload) > MAX_RECORD_BYTES:
                    skipped[f"page larger than {MAX_RECORD_BYTES // 2**20} MB"] += 1
                    continue
                _drain(record)
                page = parse_html(payload, f"{source}#{uri}", url=uri)
                articles.extend(page.articles)
                skipped.update(dict(page.skipped))
    except OSError as error:
        warnings.append(f"{source}: skipped, cannot read it ({error.strerror or error})")
    # Truncation shows as a gzip or WARC-header error partway; zlib.error, EOFError and
    # warcio's ArchiveLoadFailed all mean the same: no more records can be read from here.
    except Exception as error:
        what = f"{type(error).__name__}: {squash(str(error))[:160]}"
        if records == 0:
            warnings.append(f"{source}: skipped, not a WARC file ({what})")
        else:
            warnings.append(
                f"{source}: the WARC file is truncated or damaged after record {records} "
                f"({what}); the {len(articles)} article(s) read before it are indexed"
            )
        skipped["damaged or truncated file"] += 1
    if records == 0 and not warnings:
        warnings.append(f"{source}: skipped, no WARC record in it")
    elif not articles and not warnings:
        warnings.append(f"{source}: skipped, none of its {records} records is an article page")
    return Parsed(
        articles=tuple(articles), warnings=tuple(warnings), skipped=tuple(skipped.items())
    )


class TruncatedError(Exception):
    """The crawl ends inside a record. Not an EOFError: warcio takes EOFError for a clean end
    of file and would stop without a word."""


class _GzipReader:
    """A .gz crawl's uncompressed bytes, member after member. Unlike warcio's own inflater
    it says when the last member is cut short, and only after handing over every byte that
    could be inflated, so the records before the cut are kept."""

    _CHUNK = 2**16

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buffer = bytearray()
        self._ended = False
        self._truncated = False

    def _fill(self, wanted: int) -> None:
        while not self._ended and (wanted < 0 or len(self._buffer) < wanted):
            raw = self._inflater.unused_data or self._file.read(self._CHUNK)
            if self._inflater.eof:  # one member done; the rest (if any) starts another
                if not raw.strip(b"\0"):
                    self._ended = True
                    return
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif not raw:
                self._ended = True
                self._truncated = True
                return
            try:
                self._buffer += self._inflater.decompress(raw)
            except zlib.error as error:
                raise TruncatedError(f"the gzip data is damaged ({error})") from None

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        if not self._buffer and self._truncated:
            raise TruncatedError("the gzip stream ends inside a record")
        size = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _GzipReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _open(path: Path) -> Any:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return _GzipReader(path) if gzipped else path.open("rb")


def _drain(record: Any) -> None:
    """Read the rest of a record, raising TruncatedError when the file ends before the record's
    Content-Length does (warcio would return the short record as if it were whole)."""
    raw = record.raw_stream
    while raw.read(2**16):
        pass
    if getattr(raw, "limit", 0) > 0:
        raise TruncatedError(f"the file ends {raw.limit} bytes before the record does")


def _why_not_a_page(record: object) -> str | None:
    """Why a record is not an HTML page to index, or None when it is one."""
    rec_type = getattr(record, "rec_type", "")
    if rec_type != "response":
        return f"{rec_type or 'unknown'} record"
    http = getattr(record, "http_headers", None)
    if http is None:
        return "non-HTTP response"
    status = http.get_statuscode() or ""
    if not status.startswith("2"):
        return f"HTTP {status} response"
    content_type = (http.get_header("Content-Type") or "").lower()
    if not content_type.startswith(_HTML_TYPES):
        return "non-HTML response"
    return None
