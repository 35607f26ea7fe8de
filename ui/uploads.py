"""Checking uploaded article files and copying them into the archive folder.

An upload's name comes from the browser and is untrusted: it is never used as a path. Only a
cleaned base name (letters, digits, '.', '-', '_') is kept, and the file is written inside the
archive folder under a name that does not exist yet, so an upload never replaces or escapes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# ".warc.gz" is one suffix of two parts: see upload_suffix.
SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".jsonl", ".html", ".htm", ".xml")
SUPPORTED_SUFFIXES += (".rss", ".atom", ".warc", ".warc.gz")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Letters and digits of any script stay (archives are not all English); everything else,
# including separators, control and bidi-override characters, becomes '_'.
_UNSAFE = re.compile(r"[^\w.-]+")
_MAX_NAME = 100

# Why a file holds no readable article (shown to the user), or None when it holds one.
FileCheck = Callable[[Path, str], str | None]


@dataclass(frozen=True)
class UploadResult:
    saved: tuple[Path, ...]
    problems: tuple[str, ...]


def safe_name(name: str) -> str:
    """A plain base name for an uploaded file: no folders, no leading dots, safe characters.

    '../../etc/passwd.txt' -> 'passwd.txt'; 'C:\\x\\a b.md' -> 'a_b.md'. The suffix is
    lower-cased so that the type check and the archive agree.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    if base.lower().endswith(".warc.gz"):  # a two-part suffix: 'Crawl.WARC.GZ' -> 'Crawl.warc.gz'
        stem, suffix = base[: -len(".warc.gz")], "warc.gz"
    stem = _UNSAFE.sub("_", stem).strip("._-")[:_MAX_NAME] or "upload"
    suffix = re.sub(r"[^a-z0-9.]", "", suffix.lower())
    return f"{stem}.{suffix}" if suffix else stem


def _free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.suffix`` and so on if that exists already."""
    path = folder / name
    suffix = upload_suffix(name)
    stem = name[: len(name) - len(suffix)] if suffix else name
    number = 2
    while os.path.lexists(path):
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def upload_suffix(name: str) -> str:
    """The suffix that decides the type: ``crawl.warc.gz`` -> ``.warc.gz``."""
    lowered = name.lower()
    return ".warc.gz" if lowered.endswith(".warc.gz") else Path(lowered).suffix


def check_upload(path: Path, shown_name: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """Why an upload cannot go into the archive (type or size), or None if it may."""
    suffix = upload_suffix(safe_name(shown_name))
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        return f"{shown_name}: not added, {suffix or 'no'} file type is not supported ({kinds})"
    try:
        size = path.stat().st_size
    except OSError:
        return f"{shown_name}: not added, the upload could not be read; try uploading it again"
    if size > max_bytes:
        have, limit = human_size(size), human_size(max_bytes)
        if have == limit:  # 20.0 MB vs 20.0 MB says nothing; bytes do
            have, limit = f"{size:,} bytes", f"{max_bytes:,} bytes"
        return (
            f"{shown_name}: not added, it is {have} and the limit is {limit} per file; "
            "split it into smaller files"
        )
    if size == 0:
        return f"{shown_name}: not added, the file is empty"
    return None


def store_uploads(
    uploads: Sequence[tuple[Path, str]],
    archive_dir: Path,
    check_content: FileCheck,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> UploadResult:
    """Copy each acceptable upload (temp path, name from the browser) into ``archive_dir``.

    ``check_content`` parses the file (qa's parser); a file without a readable article is
    refused with its reason, so the archive only ever gains files the index can use.
    """
    archive_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    problems: list[str] = []
    for temp_path, browser_name in uploads:
        shown = safe_name(browser_name)
        problem = check_upload(temp_path, shown, max_bytes=max_bytes)
        if problem is None:
            problem = check_content(temp_path, shown)
        if problem is not None:
            problems.append(problem)
            continue
        target = _free_path(archive_dir, shown)
        if target.resolve().parent != archive_dir.resolve():  # belt and braces
            problems.append(f"{shown}: not added, unsafe file name")
            continue
        # Copy to a temporary name first so a half-written file is never indexed.
        with tempfile.NamedTemporaryFile(dir=archive_dir, prefix=".upload-", delete=False) as out:
            with open(temp_path, "rb") as source:
                shutil.copyfileobj(source, out)
        os.replace(out.name, target)
        saved.append(target)
    return UploadResult(tuple(saved), tuple(problems))
