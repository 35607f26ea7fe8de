"""Where a build's time goes: the real build functions timed by stage, inside one build.

``StageClock.install()`` wraps the functions a ``qa.index.build.build_index`` call goes
through (where they are looked up, so the build itself is unchanged) and books the time of
each call to its stage, less the time of the wrapped calls it makes: windows are booked apart
from the word-piece counting they call, encoding apart from its tokenising. What no wrapped
function covers is "other". bench/workers.py runs a build under it (``--profile``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STAGES = (
    "parsing articles",
    "loading the model",
    "word-piece counting (windows)",
    "sentence splitting",
    "windows and hashes",
    "tokenising for encoding",
    "model forward pass",
    "previous version",
    "FAISS index",
    "BM25, paragraphs and stories",
    "syndicated copies (MinHash)",
    "manifest and other writes",
)


class StageClock:
    """Exclusive seconds per stage; ``seconds[stage]`` after the wrapped calls ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._children: list[float] = []  # time of wrapped calls made by each open call

    def wrap(self, function: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            self._children.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - began
                inner = self._children.pop()
                self.seconds[stage] += elapsed - inner
                if self._children:
                    self._children[-1] += elapsed

        return timed

    @contextmanager
    def install(self) -> Iterator[StageClock]:
        """The build's functions wrapped while inside; put back on leaving."""
        from embeddings.encoder import Encoder
        from embeddings.index import VectorIndex
        from qa.index import build, version
        from qa.index.lexical import LexicalIndex
        from qa.ingest import chunking

        targets: list[tuple[Any, str, str, bool]] = [
            (build, "read_corpus", "parsing articles", False),
            (build, "load_encoder", "loading the model", False),
            (Encoder, "count_tokens", "word-piece counting (windows)", False),
            (Encoder, "token_offsets", "word-piece counting (windows)", False),
            (chunking, "sentence_spans", "sentence splitting", False),
            (build, "make_windows", "windows and hashes", False),
            (Encoder, "_tokenise", "tokenising for encoding", False),
            (Encoder, "encode", "model forward pass", False),
            (build, "previous_version", "previous version", False),
            (VectorIndex, "build", "FAISS index", True),
            (VectorIndex, "save", "FAISS index", False),
            (LexicalIndex, "build", "BM25, paragraphs and stories", True),
            (LexicalIndex, "save", "BM25, paragraphs and stories", False),
            (version, "find_copies", "syndicated copies (MinHash)", False),
            (build, "write_version", "manifest and other writes", False),
            (build, "_manifest", "manifest and other writes", False),
        ]
        saved = []
        for owner, name, stage, is_classmethod in targets:
            if not hasattr(owner, name):
                continue  # a function this version of the code does not have
            saved.append((owner, name, vars(owner).get(name)))
            timed = self.wrap(getattr(owner, name), stage)
            setattr(owner, name, staticmethod(timed) if is_classmethod else timed)
        try:
            yield self
        finally:
            for owner, name, raw in reversed(saved):
                if raw is None:
                    delattr(owner, name)  # inherited: the base class's shows through again
                else:
                    setattr(owner, name, raw)
