"""Article files -> Article records with exact paragraph offsets: finding the files, reading
them under a size limit, and handing each to the module of its format.

- ``.txt`` (the seed archive's format) and ``.md``: :mod:`qa.ingest.formats.text`;
- ``.jsonl``: :mod:`qa.ingest.formats.jsonl`;
- saved pages, feeds and crawls: :mod:`qa.ingest.formats` (html, feed, warc).

Offsets index the decoded file exactly as :func:`decode_bytes` returns it: no newline
translation, a byte-order mark removed. A line ends where ``str.splitlines`` ends one (so
``\r``, form feed and U+2028 end lines too); blank lines separate paragraphs.

Hostile input is skipped with a warning naming the file and the reason, never an exception:
empty, binary or undecodable files, files larger than ``MAX_FILE_MB``, unreadable files,
broken links and link loops, unsupported file types, and bad JSONL lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.decoding import decode_bytes
from qa.ingest.formats import SOURCE_KINDS, Parsed, kind_of, parse_source_file, suffix_of
from qa.ingest.formats.jsonl import parse_jsonl
from qa.ingest.formats.text import (
    parse_date,
    parse_markdown,
    parse_text,
    split_title_line,
    stable_id,
)
from qa.records import Article, FormatReport

# Re-exported: these lived here before the formats had modules of their own.
__all__ = [
    "decode_bytes",
    "parse_date",
    "parse_jsonl",
    "parse_markdown",
    "parse_text",
    "split_title_line",
    "stable_id",
]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".jsonl")
# Saved pages, feeds and crawls: see qa/formats.
SUPPORTED_SUFFIXES += (".html", ".htm", ".xml", ".rss", ".atom", ".warc", ".warc.gz")
MAX_FILE_MB = 50
"""Larger files are skipped with a warning ("skipped, larger than 50 MB"): parsing holds a
few times the file's size in memory and embedding 50 MB takes hours on a CPU. Split a bigger
archive into several files."""


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
