"""Article files -> Article records with exact paragraph offsets.

Text files (.txt) may hold one article or many in the seed archive's format (see
``shared/corpus/README.md``): an article starts at the top of the file, at a title line
repeated on two consecutive lines, or at a title line followed by a ``Release time:`` line.
Markdown (.md) holds one article: ``# Title``, ``## Section`` headings. JSONL holds one
article per line.

Offsets index the decoded file exactly as :func:`decode_bytes` returns it: no newline
translation, a byte-order mark removed. A line ends where ``str.splitlines`` ends one (so
``\r``, form feed and U+2028 end lines too); blank lines separate paragraphs.

Hostile input is skipped with a warning naming the file and the reason, never an exception:
empty, binary or undecodable files, files larger than ``MAX_FILE_MB``, unreadable files,
broken links and link loops, unsupported file types, and bad JSONL lines.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from qa.errors import CorpusError
from qa.formats import SOURCE_KINDS, Parsed, kind_of, parse_source_file, suffix_of
from qa.records import Article, FormatReport, Paragraph

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".jsonl")
# Saved pages, feeds and crawls: see qa/formats.
SUPPORTED_SUFFIXES += (".html", ".htm", ".xml", ".rss", ".atom", ".warc", ".warc.gz")
MAX_FILE_MB = 50
"""Larger files are skipped with a warning ("skipped, larger than 50 MB"): parsing holds a
few times the file's size in memory and embedding 50 MB takes hours on a CPU. Split a bigger
archive into several files."""

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


def _blocks(source: str) -> list[_Block]:
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


class _ArticleBuilder:
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
    blocks = _blocks(source)
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
        builder = _ArticleBuilder(source, source_name, key, headline)
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
    blocks = _blocks(source)
    if not blocks:
        return []
    first_line = blocks[0].line(source, 0)
    heading = _MD_HEADING.match(first_line)
    title = heading.group(2) if heading and heading.group(2) else first_line
    title, keywords = split_title_line(title)
    builder = _ArticleBuilder(source, source_name, id_key or source_name, title)
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


def _jsonl_article(
    record: object, source_name: str, line_number: int, repeated: bool = False
) -> tuple[Article | None, str | None]:
    """One JSONL line -> an article, or a warning saying why the line was skipped."""
    where = f"{source_name}:{line_number}"
    if not isinstance(record, dict):
        return None, f"{where}: expected a JSON object, got {type(record).__name__}"
    title, text = record.get("title"), record.get("text")
    if not isinstance(text, str) or not text.strip():
        return None, f"{where}: 'text' is missing or not a non-empty string"
    if title is None:
        title = ""
    if not isinstance(title, str):
        return None, f"{where}: 'title' must be a string, got {type(title).__name__}"
    published_raw = record.get("published")
    published = parse_date(published_raw) if isinstance(published_raw, str) else None
    given_id = record.get("id", record.get("_id"))
    id_key = f"{source_name}|id={given_id}" if given_id is not None else where
    if repeated:
        id_key = f"{id_key}@{line_number}"
    headline, keywords = split_title_line(title.strip() or text.strip().splitlines()[0][:120])
    builder = _ArticleBuilder(text, where, id_key, headline)
    builder.keywords = keywords
    builder.published = published
    for block in _blocks(text):
        builder.add_paragraph(block.start, block.end)
    return builder.build(0, len(text), text=text), None


def parse_jsonl(source: str, source_name: str) -> tuple[list[Article], list[str]]:
    """Articles of a JSONL file, plus a warning for each line that could not be used."""
    articles: list[Article] = []
    warnings: list[str] = []
    seen_ids: set[str] = set()
    # Records end at "\n" only: JSON strings may hold U+2028 or U+0085 raw, which
    # str.splitlines would take for line breaks.
    for line_number, line in enumerate(source.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            warnings.append(f"{source_name}:{line_number}: not valid JSON ({error.msg})")
            continue
        article, warning = _jsonl_article(record, source_name, line_number)
        if article is not None and article.article_id in seen_ids:
            # The same id and title twice in one file: both are kept, the later one keyed
            # by its line.
            article, _ = _jsonl_article(record, source_name, line_number, repeated=True)
        if article is not None:
            seen_ids.add(article.article_id)
            articles.append(article)
        if warning is not None:
            warnings.append(warning)
    return articles, warnings


# UTF-32 before UTF-16: the UTF-32 little-endian mark starts with the UTF-16 one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF = 8192  # bytes (or characters) looked at to tell text from binary


def _utf16_without_mark(data: bytes) -> str | None:
    """UTF-16 text with no byte-order mark: mostly-ASCII text has a NUL in every other byte."""
    head = data[:_SNIFF]
    if len(data) % 2 or len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= half * 0.3 and others == 0:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def decode_bytes(data: bytes) -> str:
    """Decode a text file; the result is what paragraph offsets index.

    A byte-order mark decides (UTF-8, UTF-16, UTF-32; the mark is dropped). Without one:
    UTF-8; else UTF-16 when every other byte is NUL; else Windows-1252 (Latin-1's printable
    characters plus the curly quotes and dashes Windows editors write); else Latin-1.

    Raises ValueError for data that looks binary (NUL bytes, or over 5% control characters
    in the first 8 KiB), so that a PNG renamed .txt is skipped rather than indexed as noise.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()} ({error.reason} at byte {error.start})"
                ) from None
            break
    else:
        if b"\x00" in data[:_SNIFF]:
            utf16 = _utf16_without_mark(data)
            if utf16 is None:
                raise ValueError("looks like a binary file, not text (it has NUL bytes)")
            text = utf16
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
    head = text[:_SNIFF]
    control = sum(
        1 for char in head if char not in "\t\n\r\x0b\x0c" and unicodedata.category(char) == "Cc"
    )
    if control > len(head) * 0.05:
        raise ValueError("looks like a binary file, not text (it has control characters)")
    return text


def _too_large(name: str, size: int, max_bytes: int) -> str:
    return (
        f"{name}: skipped, larger than {max_bytes / 2**20:g} MB ({size / 2**20:.1f} MB); "
        "split it into smaller files"
    )


def _read_limited(path: Path, name: str, max_bytes: int) -> tuple[bytes, str | None]:
    """A file's bytes, or a warning when it is larger than ``max_bytes`` or unreadable."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return b"", _too_large(name, size, max_bytes)
        with path.open("rb") as handle:
            # read(n) allocates n bytes up front, so ask for the size stat() gave; a file
            # that grew since is read on, up to the limit.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(max_bytes + 1 - len(data))
    except OSError as error:
        return b"", f"{name}: skipped, cannot read it ({error.strerror or error})"
    if len(data) > max_bytes:
        return b"", _too_large(name, len(data), max_bytes)
    return data, None


def _reason(warning: str) -> str:
    """The short reason of a warning, for the report's counts: 'NAME: skipped, the file is
    empty' -> 'the file is empty'; 'NAME:3: not valid JSON (...)' -> 'not valid JSON'."""
    reason = warning.rsplit(": skipped, ", 1)[-1] if ": skipped, " in warning else warning
    if reason is warning and ": " in warning:
        reason = warning.rsplit(": ", 1)[-1]
    return re.split(r" \(|; ", reason, maxsplit=1)[0].strip()


def parse_source(
    path: Path, source_name: str | None = None, *, max_bytes: int = MAX_FILE_MB * 2**20
) -> Parsed:
    """:func:`parse_file`, with the parts of the file left out counted by reason (records of
    a crawl, entries of a feed, lines of a JSONL file) for the build report."""
    name = source_name or str(path)
    kind = kind_of(path)
    if kind == "warc":  # streams record by record: no size limit applies
        return parse_source_file(path, name, None)
    if kind in SOURCE_KINDS:
        data, problem = _read_limited(path, name, max_bytes)
        if problem is not None:
            return Parsed(warnings=(problem,), skipped=((_reason(problem), 1),))
        return parse_source_file(path, name, data)
    articles, warnings = parse_file(path, name, max_bytes=max_bytes)
    reasons = Counter(_reason(warning) for warning in warnings)
    return Parsed(tuple(articles), tuple(warnings), tuple(reasons.items()))


def parse_file(
    path: Path, source_name: str | None = None, *, max_bytes: int = MAX_FILE_MB * 2**20
) -> tuple[list[Article], list[str]]:
    """Articles in one file and warnings. A file that cannot be used (unreadable, empty,
    binary, larger than ``max_bytes``, no paragraph) gives a warning naming it, never an
    exception."""
    name = source_name or str(path)
    suffix = suffix_of(path)
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        return [], [f"{name}: skipped, unsupported file type {suffix!r} (supported: {supported})"]
    if kind_of(path) in SOURCE_KINDS:
        source = parse_source(path, name, max_bytes=max_bytes)
        return list(source.articles), list(source.warnings)
    data, problem = _read_limited(path, name, max_bytes)
    if problem is not None:
        return [], [problem]
    try:
        text = decode_bytes(data)
    except ValueError as error:  # UnicodeDecodeError is a ValueError
        return [], [f"{name}: skipped, {error}"]
    if not text.strip():
        return [], [f"{name}: skipped, the file is empty"]
    if suffix == ".jsonl":
        return parse_jsonl(text, name)
    parser = parse_markdown if suffix == ".md" else parse_text
    parsed = parser(text, name)
    articles = [article for article in parsed if article.paragraphs]
    if not articles:
        return [], [f"{name}: skipped, no paragraph of text under the title"]
    warnings = [
        f"{name}: article {article.title!r} skipped, no paragraph of text under its title"
        for article in parsed
        if not article.paragraphs
    ]
    return articles, warnings


def iter_files(paths: list[Path]) -> Iterator[tuple[Path, list[str]]]:
    """Every file below the given paths (folders recursively, symlink loops broken), with a
    warning list for paths that were skipped."""
    seen_dirs: set[Path] = set()
    for path in paths:
        if not path.exists():
            if path.is_symlink():
                raise CorpusError(
                    f"{path}: a broken link or a link loop; give the file or folder it should "
                    "point to"
                )
            raise CorpusError(f"{path}: no such file or folder; check the path you gave")
        if path.is_file():
            yield path, []
            continue
        if not path.is_dir():
            yield path, [f"{path}: skipped, not a regular file or folder"]
            continue
        stack = [path]
        while stack:
            folder = stack.pop()
            try:
                real = folder.resolve()
            except (OSError, RuntimeError) as error:  # RuntimeError: a link loop (3.11)
                yield folder, [f"{folder}: skipped, cannot resolve it ({error})"]
                continue
            if real in seen_dirs:
                continue
            seen_dirs.add(real)
            try:
                entries = sorted(folder.iterdir())
            except OSError as error:
                yield folder, [f"{folder}: skipped, cannot list it ({error.strerror or error})"]
                continue
            unsupported: list[str] = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    stack.append(entry)
                elif entry.is_file():
                    if suffix_of(entry) in SUPPORTED_SUFFIXES:
                        yield entry, []
                    else:
                        unsupported.append(entry.name)
                elif not entry.exists():
                    yield entry, [f"{entry}: skipped, a broken link or a link loop"]
                elif suffix_of(entry) in SUPPORTED_SUFFIXES:
                    yield entry, [f"{entry}: skipped, not a regular file"]
            if unsupported:
                shown = ", ".join(unsupported[:5]) + (", ..." if len(unsupported) > 5 else "")
                yield (
                    folder,
                    [
                        f"{folder}: skipped {len(unsupported)} file(s) of unsupported type "
                        f"({shown}); supported: {', '.join(SUPPORTED_SUFFIXES)}"
                    ],
                )


def read_articles(paths: list[Path]) -> tuple[list[Article], list[str]]:
    """All articles under the given files and folders, with a warning per skipped input."""
    articles, warnings, _ = read_corpus(paths)
    return articles, warnings


def read_corpus(
    paths: list[Path], names: dict[Path, str] | None = None
) -> tuple[list[Article], list[str], tuple[FormatReport, ...]]:
    """:func:`read_articles`, with counts per source format for the build report.
    ``names`` gives the source name of some files (a fetched feed is named by its URL)."""
    articles: list[Article] = []
    warnings: list[str] = []
    seen_files: set[Path] = set()
    counts: dict[str, tuple[int, int, int, Counter[str]]] = {}
    for path, path_warnings in iter_files(paths):
        warnings.extend(path_warnings)
        if path_warnings:
            continue
        real = path.resolve()
        if real in seen_files:  # given twice, or reached through a link: index it once
            continue
        seen_files.add(real)
        parsed = parse_source(path, (names or {}).get(real, str(real)))
        articles.extend(parsed.articles)
        warnings.extend(parsed.warnings)
        kind = kind_of(path) or "other"
        files, found, undated, skipped = counts.get(kind, (0, 0, 0, Counter()))
        skipped.update(dict(parsed.skipped))
        no_date = sum(1 for article in parsed.articles if not article.published)
        counts[kind] = (files + 1, found + len(parsed.articles), undated + no_date, skipped)
    reports = tuple(
        FormatReport(kind, files, found, undated, tuple(skipped.items()))
        for kind, (files, found, undated, skipped) in counts.items()
    )
    return articles, warnings, reports
