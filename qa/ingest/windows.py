"""The pieces a build is made of, whatever store it writes: the windows a paragraph is
embedded as (with their content hashes), how texts are embedded (in this process or on Ray),
and what a store's build reports back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.encoder import Encoder
from embeddings.priority import run_lowered
from qa.ingest.chunking import window_spans
from qa.records import Article, Paragraph

# The headline is embedded with each window: it says what the article is about, which a
# paragraph deep in the article often does not repeat.
TITLE_TOKEN_CAP = 48

Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts -> unit float32 vectors, one row per text, in order."""


@dataclass(frozen=True)
class Window:
    paragraph_row: int
    start: int  # offsets inside the paragraph text
    end: int
    embed_text: str
    key: str  # content hash: model + embedded text


@dataclass(frozen=True)
class VersionInput:
    """What every store's build writes: the records and the manifest of the new version."""

    articles: Sequence[Article]
    paragraphs: Sequence[Paragraph]
    windows: Sequence[Window]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a store's build did, for the BuildReport."""

    embedded: int
    reused: int
    removed: int
    reason: str | None  # why nothing was reused, if so


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def make_windows(
    paragraphs: Sequence[Paragraph], encoder: Encoder, overlap: bool = True
) -> list[Window]:
    title_tokens: dict[str, int] = {}
    titles = sorted({p.title for p in paragraphs})
    for title, count in zip(titles, encoder.count_tokens(titles), strict=True):
        title_tokens[title] = min(count, TITLE_TOKEN_CAP)
    windows = []
    for row, paragraph in enumerate(paragraphs):
        budget = max(64, encoder.content_budget - title_tokens[paragraph.title] - 1)
        spans = window_spans(
            paragraph.text, budget, encoder.count_tokens, encoder.token_offsets, overlap
        )
        for start, end in spans:
            text = paragraph.text[start:end]
            embed_text = f"{paragraph.title}\n{text}" if paragraph.title else text
            windows.append(
                Window(row, start, end, embed_text, content_hash(encoder.model_id, embed_text))
            )
    return windows


def embedder(
    encoder: Encoder,
    workers: str | None,
    notify: Callable[[int, int, str], None],
    progress: object,
    lowered: int | None = None,
) -> Embed:
    """How this build embeds: ``encoder`` in this process, or (``workers`` = ``ray`` or
    ``ray://ADDRESS``) one copy of the same model per Ray worker (embeddings/ray_embed.py).

    ``lowered``: the calling process keeps answering questions (the UI's rebuild), so an
    in-process build embeds on one thread at this nice value (embeddings/priority.py)."""
    callback = (
        (lambda done, total: notify(done, total, "embedding")) if callable(progress) else None
    )
    if workers is None:
        bar: Callable[[int, int], None] | bool = callback or bool(progress)
        if lowered is not None:
            nice = lowered
            return lambda texts: run_lowered(
                lambda: encoder.encode(list(texts), progress=bar), nice
            )
        return lambda texts: encoder.encode(list(texts), progress=bar)
    from embeddings.ray_embed import encode_on_ray, parse_workers

    spec = parse_workers(workers)

    def on_ray(texts: Sequence[str]) -> np.ndarray:
        return encode_on_ray(
            texts,
            spec,
            model=encoder.model_id,
            device=encoder.device,
            precision=encoder.precision,
            batch_size=encoder.batch_size,
            dimension=encoder.dimension,
            progress=callback,
        )

    return on_ray
