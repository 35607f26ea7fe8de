"""The sentence(s) of a passage that best answer the question, as source character spans.

A sentence's evidence is its cosine to the question (the embedding model) plus what it shares
with the question: the share of the question's content words it holds, the share of the
question's rarity (BM25's IDF) it holds, and whether it holds the kind of answer asked for (a
date for "when", ...). No language model is involved. The same evidence orders the first
passages (``qa.rank.answer_first``), so the passage shown first is the one whose sentence answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from embeddings.encoder import Encoder
from qa.index.lexical import LexicalIndex
from qa.ingest.sentences import sentence_spans
from qa.rank.answertype import answer_type, answers_near_question, holds_answer_type, stem
from qa.rank.coverage import idf_coverages
from qa.rank.followup import content_words
from qa.records import Passage

# What a sentence's evidence is made of, and the weights, fitted by
# scripts/fit_sentence_scores.py on training data only: a listwise logistic model over the
# sentences of first passages that hold the gold answer, for 1,499 sampled questions of SQuAD
# 1.1 train (60 of its articles as the archive) and RealTimeQA's 1,028 quizzes of 2020-2021,
# rescaled to the cosine's weight (docs/ranking.md, step 4). Evaluation sets are only
# measured with them.
FEATURES = (
    "cosine",  # of the sentence and the question (the embedding model)
    "overlap",  # share of the question's content words (stemmed) in the sentence
    "rarity",  # share of the question's IDF mass in the sentence
    "type",  # holds the kind of answer asked for, beyond what the question says
    "near_type",  # ... within a few words of one of the question's words
)
WEIGHTS = (1.0, 1.04, 1.0, 0.58, 0.12)
# A second sentence is marked too when it scores this close to the best one.
RUNNER_UP_RATIO = 0.95
# Sentences of a text whose cosine is computed: those with the most evidence besides it.
# Embedding them is most of what the sentence step costs (an abstract of ten sentences,
# ~300 word pieces), and with the fitted weights the best sentence is among the first four
# by the other evidence for 98.2% of SQuAD2-dev's first passages of two sentences or more
# (news-archive-2022 99.6%, RealTimeQA 100%).
EMBEDDED_PER_TEXT = 4


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


def sentence_features(
    texts: Sequence[str],
    question: str,
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray | None = None,
) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
    """For each text: its sentence spans (offsets in the text) and a (sentences x
    ``FEATURES``) array of their evidence, in text order."""
    spans = [sentence_spans(text) for text in texts]
    sentences = [text[s:e] for text, found in zip(texts, spans, strict=True) for s, e in found]
    features = np.zeros((len(sentences), len(FEATURES)), dtype=np.float32)
    bounds = np.cumsum([0] + [len(found) for found in spans])
    if sentences:
        features[:, 2] = idf_coverages(question, sentences, lexical)
        question_stems = _stems(content_words(question))
        kind = answer_type(question)
        for number, sentence in enumerate(sentences):
            if question_stems:
                shared = question_stems & _stems(content_words(sentence))
                features[number, 1] = len(shared) / len(question_stems)
            if kind is not None and holds_answer_type(sentence, kind, question):
                features[number, 3] = 1.0
                features[number, 4] = answers_near_question(sentence, kind, question)
        embedded = _most_lexical(features, bounds)
        query = encoder.encode_query(question) if query is None else query
        cosines = _cache.vectors([sentences[i] for i in embedded], encoder) @ query
        features[embedded, 0] = cosines
        # A sentence left out scores the lowest cosine of its text's embedded ones: with less
        # lexical evidence too, it cannot rank above them.
        chosen = set(embedded)
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
            inside = [i for i in range(begin, end) if i not in chosen]
            if inside:
                features[inside, 0] = features[[i for i in embedded if begin <= i < end], 0].min()
    return [
        (found, features[begin:end])
        for found, begin, end in zip(spans, bounds[:-1], bounds[1:], strict=True)
    ]


def _most_lexical(features: np.ndarray, bounds: np.ndarray) -> list[int]:
    """Rows of the ``EMBEDDED_PER_TEXT`` sentences of each text with the most evidence
    besides the cosine (ties: the earlier sentence), in row order."""
    lexical = features[:, 1:] @ np.asarray(WEIGHTS[1:], dtype=np.float32)
    chosen: list[int] = []
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        rows = sorted(range(begin, end), key=lambda i: (-lexical[i], i))
        chosen += sorted(rows[:EMBEDDED_PER_TEXT])
    return chosen


def sentence_evidence(
    texts: Sequence[str],
    question: str,
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray | None = None,
) -> list[tuple[list[tuple[int, int]], list[float]]]:
    """For each text: its sentence spans and each sentence's evidence score (the features
    weighted by ``WEIGHTS``), in text order."""
    weights = np.asarray(WEIGHTS, dtype=np.float32)
    return [
        (spans, [float(score) for score in features @ weights])
        for spans, features in sentence_features(texts, question, encoder, lexical, query)
    ]


def highlight_spans(
    passages: Sequence[Passage],
    question: str,
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray | None = None,
) -> list[tuple[tuple[int, int], ...]]:
    """For each passage, its best sentence spans (source offsets), in text order."""
    return [spans for spans, _ in ranked_highlights(passages, question, encoder, lexical, query)]


def ranked_highlights(
    passages: Sequence[Passage],
    question: str,
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray | None = None,
) -> list[tuple[tuple[tuple[int, int], ...], tuple[int, int] | None]]:
    """For each passage: its best sentence spans in text order, and the best one of them
    (what a reply quotes), or None for a passage without sentences."""
    evidence = sentence_evidence([p.text for p in passages], question, encoder, lexical, query)
    results: list[tuple[tuple[tuple[int, int], ...], tuple[int, int] | None]] = []
    for passage, (spans, scores) in zip(passages, evidence, strict=True):
        if not spans:
            results.append(((), None))
            continue
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
