"""A self-describing, versioned index directory.

Layout::

    DIR/CURRENT             name of the version in use (replaced atomically)
    DIR/versions/<name>/    manifest.json, vectors.faiss and the caller's files
    DIR/.tmp-<name>/        a build in progress (removed on failure, or by the next build)
    DIR/.CURRENT.<hex>      CURRENT being replaced (removed by the next build if left)
    DIR/.lock               one writer at a time (an OS lock: a killed build releases it)

A build writes a complete version into a temporary folder, fsyncs it, renames it into
``versions/`` and only then points ``CURRENT`` at it (write a temporary file, fsync, rename),
so a build killed at any moment leaves the previous version answering exactly as before.
After a switch only the new version and the one before it are kept: a reader that read
``CURRENT`` just before the switch can still load the version it named.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from embeddings.errors import IndexFormatError, IndexLockedError

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
LOCK_FILE = ".lock"
_TMP_PREFIX = ".tmp-"


def write_json_atomic(path: Path, data: Any) -> None:
    _write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))


def _rebuild_hint(root: Path) -> str:
    return f"rebuild it with `byline build --index {root} --full`"


class IndexDirectory:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def exists(self) -> bool:
        return (self.root / CURRENT_FILE).is_file()

    def current_name(self) -> str | None:
        """The version in use, or None when no build has finished yet."""
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise IndexFormatError(f"cannot read {self.root / CURRENT_FILE}: {error}") from error
        return name or None

    def current_path(self) -> Path:
        name = self.current_name()
        if name is None:
            raise IndexFormatError(
                f"no index at {self.root}; build one with `byline build PATH --index {self.root}`"
            )
        path = self.root / VERSIONS_DIR / name
        if not path.is_dir():
            raise IndexFormatError(f"{path} is missing; {_rebuild_hint(self.root)}")
        return path

    def read_manifest(self, version: Path | None = None) -> dict[str, Any]:
        folder = version or self.current_path()
        path = folder / MANIFEST_FILE
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise IndexFormatError(f"{path} is missing; {_rebuild_hint(self.root)}") from error
        except (OSError, ValueError) as error:
            raise IndexFormatError(
                f"{path} is damaged ({error}); {_rebuild_hint(self.root)}"
            ) from error
        if not isinstance(manifest, dict):
            raise IndexFormatError(f"{path} is damaged (not an object); {_rebuild_hint(self.root)}")
        found = manifest.get("format")
        if found != FORMAT_VERSION:
            newer = isinstance(found, int) and found > FORMAT_VERSION
            fix = "upgrade byline" if newer else _rebuild_hint(self.root)
            raise IndexFormatError(
                f"{path} has index format {found!r}, this byline reads format "
                f"{FORMAT_VERSION}; {fix}"
            )
        return manifest

    @contextmanager
    def new_version(self) -> Iterator[Path]:
        """A temporary folder to write a version into; published only if the block succeeds."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        temporary = self.root / f"{_TMP_PREFIX}{name}"
        temporary.mkdir()
        try:
            previous = self.current_name()
        except IndexFormatError:
            previous = None
        try:
            yield temporary
            _fsync_tree(temporary)
            versions = self.root / VERSIONS_DIR
            versions.mkdir(exist_ok=True)
            os.replace(temporary, versions / name)
            _write_text_atomic(self.root / CURRENT_FILE, name + "\n")
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self._prune(keep={name, previous})

    def clean_stale(self) -> list[Path]:
        """Remove what killed builds left: temporary version folders and half-written
        ``CURRENT`` files. Call while holding the lock."""
        removed = []
        if self.root.is_dir():
            for entry in self.root.iterdir():
                if entry.name.startswith(_TMP_PREFIX) and entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
                elif entry.name.startswith(f".{CURRENT_FILE}.") and entry.is_file():
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
        return removed

    @contextmanager
    def writer_lock(self, timeout: float = 0) -> Iterator[None]:
        """Hold the lock file that one writer at a time may hold; wait ``timeout`` seconds
        (-1: forever) for a build that holds it."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=timeout)
        except Timeout as error:
            raise IndexLockedError(
                f"another build is writing {self.root} (it holds {self.root / LOCK_FILE}); "
                "wait for it to finish and run the build again, or pass --wait SECONDS"
            ) from error
        try:
            yield
        finally:
            lock.release()

    def _prune(self, keep: set[str | None]) -> None:
        """Remove every version but ``keep``: the new current one and the one before it.
        (A version that a killed build renamed into place but never made current goes too.)"""
        versions = self.root / VERSIONS_DIR
        for entry in versions.iterdir():
            if entry.is_dir() and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)


def check_model(manifest: dict[str, Any], root: Path, model_id: str, dimension: int) -> None:
    """Refuse to search vectors made by one model with queries embedded by another."""
    built_with, built_dimension = manifest.get("model"), manifest.get("dimension")
    if built_with != model_id or built_dimension != dimension:
        raise IndexFormatError(
            f"the index at {root} was built with model {built_with!r} ({built_dimension} "
            f"dimensions) but the model asked for is {model_id!r} ({dimension} dimensions); "
            f"rebuild it with `byline build --index {root} --model {model_id} --full` "
            "or leave --model out to use the index's own model"
        )


def _write_text_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)
