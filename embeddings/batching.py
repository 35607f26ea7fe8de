"""Questions that arrive together are encoded in one call (a micro-batcher).

A server answering several questions at once would otherwise run the encoder once per
question. :class:`BatchingEncoder` wraps an :class:`~embeddings.encoder.Encoder`: a question
that arrives while another is being encoded waits up to ``window_s`` for company, and every
question gathered by then goes through one ``encode`` call. A question that arrives when the
encoder is idle is encoded at once, so a single user (``byline ask``, an evaluation loop) pays
nothing for the batching.

No thread of its own: the first caller of a batch (its leader) runs the batch in its own
thread and hands each follower its row. Batches may run side by side (ONNX Runtime sessions
allow concurrent runs), so a batch never waits for another to finish.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from embeddings.encoder import Encoder, ProgressCallback
from embeddings.errors import ModelLoadError

DEFAULT_WINDOW_S = 0.002
"""How long a question waits for others once the encoder is busy: a few ms, under the ~4 ms
one question takes on ONNX Runtime, so waiting never costs more than it saves."""

DEFAULT_MAX_BATCH = 16


class _Batch:
    """Questions gathered for one encode call, and where their answers go."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.closed = False
        self.full = threading.Event()  # wakes the leader early when max_batch is reached
        self.done = threading.Event()
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None


class BatchingEncoder(Encoder):
    """An Encoder whose ``encode_query`` batches concurrent questions; everything else is
    the wrapped encoder's."""

    # Encoder.__init__ is not called: the wrapped encoder is already loaded.
    def __init__(
        self,
        encoder: Encoder,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if not window_s >= 0:
            raise ModelLoadError(
                f"the batching window must be >= 0 seconds, got {window_s!r}; e.g. 0.002"
            )
        if max_batch < 1:
            raise ModelLoadError(f"max_batch must be >= 1, got {max_batch!r}; e.g. 16")
        self.inner = encoder
        self.model_id = encoder.model_id
        self.dimension = encoder.dimension
        self.max_tokens = encoder.max_tokens
        self.device = encoder.device
        self.precision = encoder.precision
        self.batch_size = encoder.batch_size
        self.window_s = window_s
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._open: _Batch | None = None  # the batch new questions join
        self._running = 0  # batches being encoded now
        self.calls = 0  # encode calls made for questions (read by tests and the benchmark)
        self.questions = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_offsets(text)

    def encode(
        self, texts: Sequence[str], *, progress: bool | ProgressCallback = False
    ) -> np.ndarray:
        """A caller's own batch (highlighting's sentences) goes straight through."""
        return self.inner.encode(texts, progress=progress)

    def encode_query(self, text: str) -> np.ndarray:
        """One unit-length float32 vector, possibly computed in one call with others'."""
        with self._lock:
            batch = self._open
            leader = batch is None
            if batch is None:
                batch = _Batch()
                # Company is likely only while the encoder is busy; an idle encoder starts now.
                if self._running > 0 and self.window_s > 0 and self.max_batch > 1:
                    self._open = batch
                else:
                    batch.closed = True
            row = len(batch.texts)
            batch.texts.append(text)
            if len(batch.texts) >= self.max_batch and not batch.closed:
                batch.closed = True
                self._open = None
                batch.full.set()
        if not leader:
            batch.done.wait()
            if batch.error is not None:
                raise batch.error
            return _row(batch, row)
        if not batch.closed:
            batch.full.wait(self.window_s)
        with self._lock:
            if self._open is batch:
                self._open = None
            batch.closed = True
            self._running += 1
            self.calls += 1
            self.questions += len(batch.texts)
        try:
            batch.vectors = self.inner.encode(batch.texts)
        except BaseException as error:  # every waiter must hear of it, whatever its kind
            batch.error = error
            raise
        finally:
            with self._lock:
                self._running -= 1
            batch.done.set()
        return _row(batch, row)


def _row(batch: _Batch, row: int) -> np.ndarray:
    if batch.vectors is None:  # done is set only after vectors or error
        raise RuntimeError("a question batch finished without vectors")
    return batch.vectors[row]


def with_batching(encoder: Encoder, window_ms: float) -> Encoder:
    """``encoder`` wrapped in a :class:`BatchingEncoder` (``window_ms`` > 0), else itself."""
    if window_ms <= 0:
        return encoder
    return BatchingEncoder(encoder, window_s=window_ms / 1000)
