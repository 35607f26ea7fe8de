"""Article files -> a saved index version (vectors, paragraph store, manifest).

Embedding is the expensive step, so vectors are keyed by a hash of (model, embedded text):
a rebuild re-embeds only windows it has not seen, and reuses the rest from the current
version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoder import Encoder, load_encoder
from embeddings.errors import EmbeddingsError
from embeddings.store import FORMAT_VERSION, IndexDirectory
from embeddings.stores.base import StoreSpec
from qa.errors import CorpusError, IndexStateError, as_byline_error
from qa.index.version import previous_version, write_version
from qa.ingest.corpus import read_corpus
from qa.ingest.formats.fetch import FetchError, fetch_feed, is_url, stored_path
from qa.ingest.windows import (
    Embed,
    Outcome,
    VersionInput,
    Window,
    content_hash,
    embedder,
    make_windows,
)
from qa.records import Article, BuildReport, Paragraph
from qa.settings import Settings, ensure_default_archive, uploads_dir

ProgressCallback = Callable[[int, int, str], None]


def _sources_from(directory: IndexDirectory) -> list[Path]:
    try:
        sources = directory.read_manifest().get("sources", [])
        return [Path(source) for source in sources if not is_url(source)]
    except EmbeddingsError as error:
        raise IndexStateError(
            f"{error}. Give the article files to index: `byline build PATH --index "
            f"{directory.root}`"
        ) from error


def _feed_urls(
    paths: Sequence[str | Path], directory: IndexDirectory
) -> tuple[list[str | Path], list[str]]:
    """The paths that are files, and the feed URLs: those given, or with no paths at all the
    ones the index was built from (a rebuild fetches them again)."""
    files = [path for path in paths if not is_url(path)]
    urls = [str(path) for path in paths if is_url(path)]
    if not paths and directory.exists():
        try:
            urls = [s for s in directory.read_manifest().get("sources", []) if is_url(s)]
        except EmbeddingsError:
            urls = []  # _resolve_inputs reports the damaged manifest
    return files, urls


def _fetch_feeds(
    urls: Sequence[str], index: Path, rebuild: bool, public_only: bool
) -> tuple[dict[Path, str], list[str]]:
    """Stored feed file -> its URL, fetched now. A URL given for this build that cannot be
    fetched fails it (FetchError, nothing changed); on a rebuild from the index's own sources
    the copy fetched last time is used instead, with a warning."""
    fetched: dict[Path, str] = {}
    warnings: list[str] = []
    for url in dict.fromkeys(urls):
        try:
            fetched[fetch_feed(url, index, public_only=public_only).resolve()] = url
        except FetchError as error:
            stored = stored_path(index, url)
            if not rebuild or not stored.exists():
                raise
            warnings.append(f"{error} (the entries fetched before are kept)")
            fetched[stored.resolve()] = url
    return fetched, warnings


def _resolve_inputs(paths: Sequence[str | Path], settings: Settings) -> list[Path]:
    if paths:
        return [Path(path).expanduser() for path in paths]
    directory = IndexDirectory(settings.index)
    if directory.exists():
        sources = _sources_from(directory)
        uploads = uploads_dir(settings.index).resolve()
        if uploads.is_dir() and uploads not in {source.resolve() for source in sources}:
            sources.append(uploads)
        return sources
    if settings.is_default_index:
        return [ensure_default_archive(settings)]
    raise CorpusError(
        f"no article files given and no index at {settings.index} to rebuild; "
        f"run `byline build PATH --index {settings.index}`"
    )


def build_index(
    paths: Sequence[str | Path] = (),
    *,
    index: str | Path | None = None,
    model: str | None = None,
    device: str | None = None,
    full: bool = False,
    progress: ProgressCallback | bool | None = None,
    lock_timeout: float = 0,
    feeds: Sequence[str] = (),
    public_only: bool = False,
    store: str | None = None,
    workers: str | None = None,
    background: bool = False,
) -> BuildReport:
    """Index the articles under ``paths`` (files or folders) into ``index``.

    The new version holds exactly the articles found under ``paths`` now: paragraphs of
    files that were removed or changed since the last build disappear. With no paths,
    rebuilds from the files the index was built from (for the default index on first use:
    the bundled archive).

    Incremental: a window whose content hash (model + embedded text) is in the current
    version reuses its stored vector; only new or changed windows are embedded. Everything is
    embedded again with ``full=True``, with another model than the index's, or when the
    current version cannot be read; the report's ``full_rebuild_reason`` says which. The model
    is ``model`` if given, else the one the index was built with, else the default.

    Safe: the version is written beside the current one and switched to atomically, under a
    lock file (``lock_timeout`` seconds to wait for another build, -1 forever; else
    IndexStateError). A build that fails or is killed leaves the previous version answering
    as before, and zero indexable articles is a CorpusError that keeps it too. Files that
    cannot be used are skipped with a warning in the report's ``skipped``.

    ``progress`` is a callback ``(done, total, message)`` or True for a terminal progress bar.

    Feed URLs may stand among ``paths``; ``feeds`` adds URLs to ``paths`` or, with no paths,
    to the index's own sources (how the UI adds a feed). Each is fetched now (see
    qa.ingest.formats.fetch); with ``public_only`` (the UI's rule), URLs whose host is a loopback,
    private or link-local address are refused.

    ``background``: the calling process keeps answering questions (the UI's rebuild), so the
    windows are embedded on one thread at a lower priority (BYLINE_BUILD_NICE), leaving the
    other cores and the first claim on the CPU to the questions.
    """
    began = time.perf_counter()
    settings = Settings.resolve(
        index=index, model=model, device=device, store=store, workers=workers
    )
    directory = IndexDirectory(settings.index)
    files, urls = _feed_urls(paths, directory)
    urls += [url for url in feeds if url not in urls]
    inputs = _resolve_inputs(files, settings) if files or not paths else []
    fetched, fetch_warnings = _fetch_feeds(urls, settings.index, not paths, public_only)
    articles, warnings, formats = read_corpus([*inputs, *fetched], names=fetched)
    warnings = fetch_warnings + warnings
    if not articles:
        details = (
            "; ".join(warnings[:5])
            or "no article files (.txt, .md, .jsonl, .html, feeds, WARC) found"
        )
        raise CorpusError(
            f"no indexable article in {', '.join([*map(str, inputs), *urls])} ({details}); "
            "the existing index, if any, is kept"
        )
    notify: ProgressCallback = progress if callable(progress) else (lambda *_: None)
    try:
        with directory.writer_lock(lock_timeout):
            directory.clean_stale()
            encoder = load_encoder(_model_for(directory, settings.model), settings.device)
            paragraphs = [p for article in articles for p in article.paragraphs]
            notify(0, len(paragraphs), "splitting paragraphs into windows")
            windows = make_windows(paragraphs, encoder, settings.window_overlap)
            lowered = settings.build_nice if background else None
            embed = embedder(encoder, settings.workers, notify, progress, lowered)
            manifest = _manifest(encoder, articles, paragraphs, windows, inputs, urls)
            version = VersionInput(articles, paragraphs, windows, manifest)
            spec = settings.store_spec if settings.store else store_of(directory)
            if spec.kind == "milvus":
                from qa.index.milvus_build import build_milvus_version

                outcome = build_milvus_version(
                    directory, spec, encoder, version, full, embed, notify
                )
            else:
                outcome = _build_faiss_version(directory, encoder, version, full, embed, notify)
    except EmbeddingsError as error:
        raise as_byline_error(error) from error
    except OSError as error:  # disk full, --index naming a file, a read-only folder...
        raise IndexStateError(
            f"cannot write the index at {settings.index} ({error.strerror or error}); the "
            "existing index, if any, is kept. Free some space or choose another --index folder"
        ) from error
    return BuildReport(
        articles=len(articles),
        paragraphs=len(paragraphs),
        embedded=outcome.embedded,
        reused=outcome.reused,
        removed=outcome.removed,
        seconds=time.perf_counter() - began,
        index=str(settings.index),
        skipped=tuple(warnings),
        full_rebuild_reason=outcome.reason,
        formats=formats,
    )


def _build_faiss_version(
    directory: IndexDirectory,
    encoder: Encoder,
    version: VersionInput,
    full: bool,
    embed: Embed,
    notify: ProgressCallback,
) -> Outcome:
    """A new FAISS version beside the current one, reusing its vectors by content hash."""
    windows = version.windows
    previous = previous_version(directory, encoder.model_id, encoder.dimension, full)
    known = previous.vectors
    fresh = [w for w in windows if w.key not in known]
    notify(0, len(fresh), f"embedding {len(fresh)} new windows")
    by_key = dict(known)
    by_key.update(zip([w.key for w in fresh], embed([w.embed_text for w in fresh]), strict=True))
    vectors = np.stack([by_key[w.key] for w in windows]).astype(np.float32)
    current_keys = {w.key for w in windows}
    notify(len(fresh), len(fresh), "writing the index")
    with directory.new_version() as folder:
        write_version(
            folder, version.articles, version.paragraphs, windows, vectors, version.manifest
        )
    return Outcome(
        embedded=len({w.key for w in fresh}),
        reused=len(current_keys & set(known)),
        removed=len(previous.keys - current_keys),
        reason=previous.reason,
    )


def store_of(directory: IndexDirectory) -> StoreSpec:
    """The store the current version was built into (FAISS if none or unreadable): a
    rebuild with no --store keeps it."""
    try:
        recorded = directory.read_manifest().get("store") if directory.exists() else None
    except EmbeddingsError:
        recorded = None
    if not recorded:
        return StoreSpec("faiss")
    return StoreSpec("milvus", str(recorded["uri"]), str(recorded["collection"]))


def _model_for(directory: IndexDirectory, asked: str | None) -> str | None:
    """The model asked for; else the one the existing index was built with (``--full``
    included: a clean rebuild does not change the model); else the default."""
    if asked is not None or not directory.exists():
        return asked
    try:
        built_with = directory.read_manifest().get("model")
    except EmbeddingsError:
        return None  # a damaged index is rebuilt with the default model
    return built_with if isinstance(built_with, str) and built_with else None


def _manifest(
    encoder: Encoder,
    articles: Sequence[Article],
    paragraphs: Sequence[Paragraph],
    windows: Sequence[Window],
    inputs: Sequence[Path],
    urls: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "model": encoder.model_id,
        "dimension": encoder.dimension,
        "normalized": True,
        "metric": "inner_product",
        "counts": {
            "articles": len(articles),
            "paragraphs": len(paragraphs),
            "windows": len(windows),
        },
        "content_hash": content_hash(*sorted({w.key for w in windows})),
        "sources": [str(path.resolve()) for path in inputs] + list(dict.fromkeys(urls)),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
