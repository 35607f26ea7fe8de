"""The micro-batcher: questions arriving while the encoder is busy go through one call, each
caller gets its own row, a lone question is not delayed, and errors reach every caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from embeddings.batching import BatchingEncoder, with_batching
from embeddings.encoder import Encoder, ProgressCallback
from embeddings.errors import ModelLoadError

QUESTIONS = [f"question number {n}" for n in range(12)]


class RecordingEncoder(Encoder):
    """A fake whose vector for a text is a one-hot of the number in it; records each call and
    can be held inside a call until released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.model_id, self.dimension, self.max_tokens = "fake", 32, 256
        self.device, self.precision, self.batch_size = "cpu", "float32", 32
        self.calls: list[list[str]] = []
        self.inside = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_on = fail_on

    def encode(
        self, texts: Sequence[str], *, progress: bool | ProgressCallback = False
    ) -> np.ndarray:
        self.calls.append(list(texts))
        self.inside.set()
        self.release.wait(10)
        if self.fail_on in texts:
            raise ValueError(f"cannot encode {self.fail_on!r}")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, int(text.rsplit(" ", 1)[1])] = 1.0
        return vectors


def _ask_all(
    batcher: Encoder, texts: Sequence[str]
) -> tuple[dict[str, np.ndarray], list[BaseException], list[threading.Thread]]:
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def ask(text: str) -> None:
        try:
            results[text] = batcher.encode_query(text)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    return results, errors, threads


def _busy(inner: RecordingEncoder, batcher: BatchingEncoder) -> threading.Thread:
    """Start one question and hold the encoder inside its call."""
    inner.release.clear()
    inner.inside.clear()
    first = threading.Thread(target=batcher.encode_query, args=(QUESTIONS[0],))
    first.start()
    assert inner.inside.wait(5)
    return first


def _finish(
    inner: RecordingEncoder, threads: list[threading.Thread], ready: Callable[[], bool]
) -> None:
    """Once ``ready()`` (or after 5 s), let the held encoder go and wait for every caller."""
    deadline = time.monotonic() + 5
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    inner.release.set()
    for thread in threads:
        thread.join(5)


def test_questions_arriving_while_busy_share_one_call() -> None:
    inner = RecordingEncoder()
    batcher = BatchingEncoder(inner, window_s=1.0)
    first = _busy(inner, batcher)
    results, errors, threads = _ask_all(batcher, QUESTIONS[1:9])
    _finish(inner, [first, *threads], lambda: bool(batcher._open and len(batcher._open.texts) == 8))
    assert errors == []
    assert inner.calls[0] == [QUESTIONS[0]]
    assert len(inner.calls) == 2 and sorted(inner.calls[1]) == sorted(QUESTIONS[1:9])
    for text, vector in results.items():  # each caller got its own row
        assert int(np.argmax(vector)) == int(text.rsplit(" ", 1)[1])
    assert (batcher.calls, batcher.questions) == (2, 9)


def test_a_lone_question_is_not_delayed() -> None:
    inner = RecordingEncoder()
    batcher = BatchingEncoder(inner, window_s=2.0)
    began = time.perf_counter()
    vector = batcher.encode_query(QUESTIONS[3])
    assert time.perf_counter() - began < 1.0  # well under the 2 s window
    assert int(np.argmax(vector)) == 3 and inner.calls == [[QUESTIONS[3]]]


def test_a_full_batch_starts_before_the_window_ends() -> None:
    inner = RecordingEncoder()
    batcher = BatchingEncoder(inner, window_s=30.0, max_batch=4)
    first = _busy(inner, batcher)
    began = time.perf_counter()
    results, errors, threads = _ask_all(batcher, QUESTIONS[1:5])
    _finish(inner, [first, *threads], lambda: len(inner.calls) >= 2)
    assert time.perf_counter() - began < 10
    assert errors == [] and len(results) == 4
    assert [len(call) for call in inner.calls] == [1, 4]


def test_an_error_reaches_every_question_of_its_batch_and_the_next_batch_works() -> None:
    inner = RecordingEncoder(fail_on=QUESTIONS[2])
    batcher = BatchingEncoder(inner, window_s=1.0, max_batch=3)
    first = _busy(inner, batcher)
    results, errors, threads = _ask_all(batcher, QUESTIONS[1:4])
    _finish(inner, [first, *threads], lambda: len(inner.calls) >= 2)
    assert results == {} and len(errors) == 3
    assert all("cannot encode" in str(error) for error in errors)
    assert int(np.argmax(batcher.encode_query(QUESTIONS[5]))) == 5


def test_zero_window_means_no_batcher_and_bad_settings_name_the_value() -> None:
    inner = RecordingEncoder()
    assert with_batching(inner, 0) is inner
    assert isinstance(with_batching(inner, 2), BatchingEncoder)
    with pytest.raises(ModelLoadError, match="-1"):
        BatchingEncoder(inner, window_s=-1)
    with pytest.raises(ModelLoadError, match="max_batch must be >= 1, got 0"):
        BatchingEncoder(inner, max_batch=0)


def test_batched_questions_embed_like_single_ones(encoder: Encoder) -> None:
    """The real model: a question padded in a batch of longer ones has its own vector."""
    questions = [
        "When will Blinken visit China?",
        "What did the WHO say about the EG.5 variant and its spread in August?",
        "How much did the ruble fall?",
    ]
    alone = np.vstack([encoder.encode_query(q) for q in questions])
    batcher = BatchingEncoder(encoder, window_s=0.5)
    gate = threading.Barrier(len(questions))
    rows: dict[int, np.ndarray] = {}

    def ask(number: int) -> None:
        gate.wait()
        rows[number] = batcher.encode_query(questions[number])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    together = np.vstack([rows[n] for n in range(len(questions))])
    assert np.min(np.sum(alone * together, axis=1)) > 0.999
    assert batcher.questions == len(questions)
