"""The sentence(s) of a passage that best answer the question, as source character spans.

Scored with the embedding model (cosine of sentence and question) plus a small bonus for the
question's content words that the sentence contains; no language model is involved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from embeddings.encoder import Encoder
from qa.answertype import answer_type, answers_near_question, stem
from qa.followup import content_words
from qa.records import Passage
from qa.sentences import sentence_spans

TERM_BONUS = 0.3
# A sentence that holds the kind of answer asked for ("when" -> a date) gains this much: it is
# the difference between the sentence that answers and one that repeats the question.
TYPE_BONUS = 0.1
# A second sentence is marked too when it scores this close to the best one.
RUNNER_UP_RATIO = 0.95


def _stems(words: Sequence[str]) -> set[str]:
    return {stem(word) for word in words}


class _SentenceCache:
    """Recently embedded sentences: a conversation keeps citing the same paragraphs, and
    embedding their sentences is most of what answering costs on a CPU."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str], encoder: Encoder) -> np.ndarray:
        keys = [(encoder.model_id, text) for text in texts]
        with self._lock:
            found = {key: self._vectors[key] for key in keys if key in self._vectors}
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            fresh = encoder.encode([text for _, text in missing])
            found.update(zip(missing, fresh, strict=True))
        with self._lock:
            for key, vector in found.items():
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return np.stack([found[key] for key in keys])


_cache = _SentenceCache()


def highlight_spans(
    passages: Sequence[Passage], question: str, encoder: Encoder, query: np.ndarray | None = None
) -> list[tuple[tuple[int, int], ...]]:
    """For each passage, its best sentence spans (source offsets), in text order."""
    return [spans for spans, _ in ranked_highlights(passages, question, encoder, query)]


def ranked_highlights(
    passages: Sequence[Passage], question: str, encoder: Encoder, query: np.ndarray | None = None
) -> list[tuple[tuple[tuple[int, int], ...], tuple[int, int] | None]]:
    """For each passage: its best sentence spans in text order, and the best one of them
    (what a reply quotes), or None for a passage without sentences."""
    sentences = [sentence_spans(passage.text) for passage in passages]
    texts = [p.text[s:e] for p, spans in zip(passages, sentences, strict=True) for s, e in spans]
    if not texts:
        return [((), None) for _ in passages]
    vectors = _cache.vectors(texts, encoder)
    query = encoder.encode_query(question) if query is None else query
    question_stems = _stems(content_words(question))
    kind = answer_type(question)
    results: list[tuple[tuple[tuple[int, int], ...], tuple[int, int] | None]] = []
    offset = 0
    for passage, spans in zip(passages, sentences, strict=True):
        if not spans:
            results.append(((), None))
            continue
        cosine = vectors[offset : offset + len(spans)] @ query
        offset += len(spans)
        scores = []
        for (start, end), similarity in zip(spans, cosine, strict=True):
            stems = _stems(content_words(passage.text[start:end]))
            overlap = len(question_stems & stems) / len(question_stems) if question_stems else 0.0
            typed = kind is not None and answers_near_question(
                passage.text[start:end], kind, question
            )
            scores.append(float(similarity) + TERM_BONUS * overlap + TYPE_BONUS * typed)
        order = sorted(range(len(spans)), key=lambda i: -scores[i])
        best = scores[order[0]]
        chosen = [order[0]] + [
            i for i in order[1:2] if best > 0 and scores[i] >= RUNNER_UP_RATIO * best
        ]
        marked = tuple(
            (passage.start + spans[i][0], passage.start + spans[i][1]) for i in sorted(chosen)
        )
        top = (passage.start + spans[order[0]][0], passage.start + spans[order[0]][1])
        results.append((marked, top))
    return results
