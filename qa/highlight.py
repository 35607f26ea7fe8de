"""The sentence(s) of a passage that best answer the question, as source character spans.

Scored with the embedding model (cosine of sentence and question) plus a small bonus for the
question's content words that the sentence contains; no language model is involved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from embeddings.encoder import Encoder
from qa.followup import content_words
from qa.records import Passage
from qa.sentences import sentence_spans

TERM_BONUS = 0.1
# A second sentence is marked too when it scores this close to the best one.
RUNNER_UP_RATIO = 0.95
_STEM = re.compile(r"(ing|ed|es|s)$")


def _stems(words: Sequence[str]) -> set[str]:
    return {_STEM.sub("", word) if len(word) > 4 else word for word in words}


def highlight_spans(
    passages: Sequence[Passage], question: str, encoder: Encoder, query: np.ndarray | None = None
) -> list[tuple[tuple[int, int], ...]]:
    """For each passage, its best sentence spans (source offsets), in text order."""
    sentences = [sentence_spans(passage.text) for passage in passages]
    texts = [p.text[s:e] for p, spans in zip(passages, sentences, strict=True) for s, e in spans]
    if not texts:
        return [() for _ in passages]
    vectors = encoder.encode(texts)
    query = encoder.encode_query(question) if query is None else query
    question_stems = _stems(content_words(question))
    results: list[tuple[tuple[int, int], ...]] = []
    offset = 0
    for passage, spans in zip(passages, sentences, strict=True):
        if not spans:
            results.append(())
            continue
        cosine = vectors[offset : offset + len(spans)] @ query
        offset += len(spans)
        scores = []
        for (start, end), similarity in zip(spans, cosine, strict=True):
            stems = _stems(content_words(passage.text[start:end]))
            overlap = len(question_stems & stems) / len(question_stems) if question_stems else 0.0
            scores.append(float(similarity) + TERM_BONUS * overlap)
        order = sorted(range(len(spans)), key=lambda i: -scores[i])
        best = scores[order[0]]
        chosen = [order[0]] + [
            i for i in order[1:2] if best > 0 and scores[i] >= RUNNER_UP_RATIO * best
        ]
        results.append(
            tuple(
                (passage.start + spans[i][0], passage.start + spans[i][1]) for i in sorted(chosen)
            )
        )
    return results
