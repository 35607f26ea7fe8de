"""BM25 over the same paragraphs as the vectors (bm25s), saved with each index version.

English stop words and the Snowball stemmer: on SciFact that is bm25s' published 0.686
nDCG@10, against 0.662 without stemming (shared/eval/README.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

LEXICAL_DIR = "bm25"
# BM25 over whole stories (headline and text), for story context (qa/rank/stories.py).
STORY_LEXICAL_DIR = "bm25-stories"
K1, B = 1.5, 0.75


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(  # type: ignore[no-any-return]
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def lexical_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title else text


class LexicalIndex:
    k1, b = K1, B

    def __init__(self, model: Any, size: int) -> None:
        self._model = model
        self.size = size

    @staticmethod
    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        return _tokenize(texts)

    def idf(self, token: str) -> float:
        """BM25's (Lucene's) inverse document frequency of a token, as the index scores it."""
        frequency = self.document_frequency(token)
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def document_frequency(self, token: str) -> int:
        """How many paragraphs hold ``token`` (a stemmed token, as ``tokenize`` gives)."""
        token_id = self._model.vocab_dict.get(token)
        if token_id is None:
            return 0
        indptr = self._model.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25(k1=K1, b=B)
        tokens = _tokenize(texts)
        # bm25s cannot index a corpus without a single token; a placeholder keeps rows aligned.
        model.index([row or ["\x00empty"] for row in tokens], show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path, name: str = LEXICAL_DIR) -> None:
        self._model.save(str(folder / name), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int, name: str = LEXICAL_DIR) -> LexicalIndex:
        import bm25s

        # bm25s logs a warning per load about corpus files it was not asked to keep.
        logging.getLogger("bm25s").setLevel(logging.ERROR)
        model = bm25s.BM25.load(str(folder / name), show_progress=False)
        return cls(model, size)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, BM25 score) best first, only rows with a positive score (and mask 1)."""
        tokens = [t for t in _tokenize([query])[0] if t in self._model.vocab_dict]
        k = min(k, self.size)
        if not tokens or k <= 0:
            return []
        # n_threads=0 runs in this thread; 1 starts a one-thread pool on every question.
        rows, scores = self._model.retrieve(
            [tokens], k=k, show_progress=False, n_threads=0, weight_mask=mask
        )
        return [
            (int(row), float(score))
            for row, score in zip(rows[0], scores[0], strict=True)
            if score > 0
        ]
