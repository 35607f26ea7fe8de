"""The first passages ordered by a ranking model learned on training data.

Hand-set constants (how much a story counts, how far answer types and the answering
sentence may lift a paragraph, how a story's second paragraph is damped) were chosen on the
sets the project reports, and part of their gain did not carry over to news nobody tuned
for. Here one model weighs the same evidence instead: LightGBM's lambdarank, fitted by
``scripts/fit_ranker.py`` on training questions only (SQuAD 1.1 train, as passages and as
whole articles cut into paragraphs, and RealTimeQA's 2020-2021 quizzes), over the first
``DEPTH`` candidates of the first stage (fusion and story context; at most ``PER_STORY`` of
one story), the same candidates it reorders when serving.

Each candidate's evidence is ``FEATURES``: its dense cosine and BM25 score, its story's,
where it stands in its story and among the candidates, whether it holds the kind of answer
asked for, how much of the question's rarity it holds, and the evidence of its best sentence
(``qa.rank.highlight``) for the first ``SENTENCE_DEPTH`` candidates. A missing value (a
BM25-only candidate has no cosine) is NaN, which the model's trees route on their own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from embeddings.encoder import Encoder
from qa.index.lexical import LexicalIndex
from qa.rank.answertype import answer_type
from qa.rank.coverage import idf_coverages
from qa.rank.followup import content_words
from qa.rank.fusion import Scored
from qa.rank.highlight import WEIGHTS, sentence_features
from qa.rank.ordering import has_evidence
from qa.records import Paragraph

# Candidates the model reorders; the rest keep the first stage's order below them.
DEPTH = 20
# At most this many paragraphs of one story among them: a story cut into many short
# paragraphs would otherwise fill the candidates (3 stories in 20 on news-archive-2022), and a
# story further down never reach the first passages.
PER_STORY = 4
# Candidates whose sentences are embedded: most of what the model costs on a CPU.
SENTENCE_DEPTH = 10

FEATURES = (
    "asks_type",  # the question asks for a kind of answer (a date, an amount, ...)
    "question_words",  # content words in the question (log)
    "cosine",  # the paragraph's best window against the question
    "cosine_gap",  # best cosine of any allowed paragraph minus this one's
    "bm25",  # this paragraph's BM25 score over the best candidate's
    "fused",  # the fused paragraph score (qa.rank.fusion), before story context
    "first_stage",  # the first stage's score (with story context) over the best candidate's
    "story_cosine",  # best cosine of any paragraph of the story
    "story_bm25",  # BM25 of the whole story, normalised over the candidate stories
    "first_stage_rank",  # place among the candidates (log)
    "story_rank",  # place of the story among the candidates' stories (log)
    "paragraph",  # place of the paragraph in its story (log)
    "story_above",  # paragraphs of the same story placed above it
    "story_candidates",  # paragraphs of the story among the candidates
    "answer_evidence",  # holds the kind of answer asked for, near the question's words
    "rarity",  # share of the question's IDF mass in the paragraph
    "length",  # characters (log)
    "sentence",  # best sentence's evidence (qa.rank.highlight weights)
    "sentence_gap",  # the best sentence evidence of any candidate minus this one's
    "story_sentence_gap",  # ... of any candidate of the same story minus this one's
    "sentence_cosine",  # the best sentence's own features
    "sentence_overlap",
    "sentence_rarity",
    "sentence_type",
)


@dataclass(frozen=True)
class FirstStage:
    """What the first stage knows of one question's candidates."""

    question: str
    items: Sequence[Scored]  # best first, after story context
    fused: dict[int, float]  # paragraph row -> fused score before story context
    story_cosine: dict[str, float]  # article id -> best cosine of its paragraphs
    story_bm25: dict[str, float]  # article id -> normalised story BM25
    top_dense: float | None


@dataclass(frozen=True)
class Candidates:
    """The reordered candidates' evidence: one row of ``FEATURES`` each, and each one's best
    sentence (offsets in its text; None beyond ``SENTENCE_DEPTH`` or without sentences)."""

    items: list[Scored]
    features: np.ndarray
    best_sentences: list[tuple[int, int] | None]


def _log(value: float) -> float:
    return math.log1p(max(value, 0.0))


def candidate_block(items: Sequence[Scored], paragraphs: Sequence[Paragraph]) -> list[Scored]:
    """The first ``DEPTH`` candidates, at most ``PER_STORY`` of each story, in order."""
    taken: Counter[str] = Counter()
    block = []
    for item in items:
        article = paragraphs[item.row].article_id
        if taken[article] < PER_STORY:
            taken[article] += 1
            block.append(item)
            if len(block) == DEPTH:
                break
    return block


def candidate_features(
    stage: FirstStage,
    paragraphs: Sequence[Paragraph],
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray,
) -> Candidates:
    """The evidence of the candidates of ``candidate_block``, in their first-stage order."""
    items = candidate_block(stage.items, paragraphs)
    count = len(items)
    features = np.full((count, len(FEATURES)), np.nan, dtype=np.float32)
    best_sentences: list[tuple[int, int] | None] = [None] * count
    if not items:
        return Candidates(items, features, best_sentences)
    question = stage.question
    column = {name: number for number, name in enumerate(FEATURES)}
    texts = [paragraphs[item.row].text for item in items]
    articles = [paragraphs[item.row].article_id for item in items]
    lexical_top = max((item.lexical or 0.0 for item in items), default=0.0) or 1.0
    story_order = list(dict.fromkeys(articles))
    first_score = items[0].score if items[0].score > 0 else 1.0
    features[:, column["asks_type"]] = answer_type(question) is not None
    features[:, column["question_words"]] = _log(len(content_words(question)))
    features[:, column["rarity"]] = idf_coverages(question, texts, lexical)
    for place, (item, text, article) in enumerate(zip(items, texts, articles, strict=True)):
        row = features[place]
        if item.dense is not None:
            row[column["cosine"]] = item.dense
            if stage.top_dense is not None:
                row[column["cosine_gap"]] = stage.top_dense - item.dense
        if item.lexical is not None:
            row[column["bm25"]] = item.lexical / lexical_top
        row[column["fused"]] = stage.fused.get(item.row, 0.0)
        row[column["first_stage"]] = item.score / first_score
        row[column["story_cosine"]] = stage.story_cosine.get(article, np.nan)
        row[column["story_bm25"]] = stage.story_bm25.get(article, 0.0)
        row[column["first_stage_rank"]] = _log(place)
        row[column["story_rank"]] = _log(story_order.index(article))
        row[column["paragraph"]] = _log(paragraphs[item.row].index)
        row[column["story_above"]] = articles[:place].count(article)
        row[column["story_candidates"]] = articles.count(article)
        row[column["answer_evidence"]] = has_evidence(text, question)
        row[column["length"]] = _log(len(text))
    weights = np.asarray(WEIGHTS, dtype=np.float32)
    found = sentence_features(texts[:SENTENCE_DEPTH], question, encoder, lexical, query)
    named = ("sentence_cosine", "sentence_overlap", "sentence_rarity", "sentence_type")
    for place, (spans, evidence) in enumerate(found):
        if not spans:
            continue
        scores = evidence @ weights
        best = int(np.argmax(scores))
        best_sentences[place] = spans[best]
        features[place, column["sentence"]] = scores[best]
        for name, value in zip(named, evidence[best][:4], strict=True):
            features[place, column[name]] = value
    sentence = features[:, column["sentence"]]
    if not np.isnan(sentence).all():
        features[:, column["sentence_gap"]] = np.nanmax(sentence) - sentence
        for place, article in enumerate(articles):
            same_story = sentence[[other == article for other in articles]]
            if not np.isnan(sentence[place]):
                features[place, column["story_sentence_gap"]] = (
                    np.nanmax(same_story) - sentence[place]
                )
    return Candidates(items, features, best_sentences)


# LightGBM's text format: decision_type bit 1 sends a missing value left; bits 2-3 say what
# counts as missing (0 nothing, 1 zero, 2 NaN); a value within this of 0 is zero.
_DEFAULT_LEFT = 2
_MISSING_ZERO, _MISSING_NAN = 1, 2
_ZERO = 1e-35


class LearnedRanker:
    """A fitted lambdarank model (LightGBM's text format) over ``FEATURES``.

    The trees are read from the text and evaluated here with numpy, as LightGBM evaluates
    them (``tests/test_learned_ranking.py`` checks the scores against LightGBM's own):
    importing LightGBM pulls in scikit-learn, SciPy and pandas, 0.6 s of a `byline ask` whose
    whole budget is 1.5 s. LightGBM is needed only to fit (``scripts/fit_ranker.py``).
    """

    def __init__(self, model_text: str) -> None:
        header, _, body = model_text.partition("\nTree=")
        fields = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
        names = tuple(fields.get("feature_names", "").split())
        if names != FEATURES:
            raise ValueError(
                f"the ranking model was fitted on features {names}, this code computes "
                f"{FEATURES}; refit it with scripts/fit_ranker.py"
            )
        trees = [
            dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            for block in ("Tree=" + body).split("\nTree=")
            if block.strip() and not block.startswith("end of trees")
        ]
        trees = [tree for tree in trees if "leaf_value" in tree]
        if not trees or any(int(tree.get("num_cat", "0")) for tree in trees):
            raise ValueError("the ranking model has no trees or categorical splits; refit it")
        nodes = max(int(tree["num_leaves"]) - 1 for tree in trees) or 1
        leaves = max(int(tree["num_leaves"]) for tree in trees)
        count = len(trees)
        self._feature = np.zeros((count, nodes), dtype=np.int64)
        self._threshold = np.zeros((count, nodes))
        self._decision = np.zeros((count, nodes), dtype=np.int64)
        self._left = np.zeros((count, nodes), dtype=np.int64)
        self._right = np.zeros((count, nodes), dtype=np.int64)
        self._leaf_value = np.zeros((count, leaves))
        # A one-leaf tree starts at its leaf (~0 = -1); children below 0 are leaves (~index).
        self._root = np.zeros(count, dtype=np.int64)
        for number, tree in enumerate(trees):
            values = np.array(tree["leaf_value"].split(), dtype=np.float64)
            self._leaf_value[number, : len(values)] = values
            if int(tree["num_leaves"]) == 1:
                self._root[number] = -1
                continue
            for name, target, kind in (
                ("split_feature", self._feature, np.int64),
                ("threshold", self._threshold, np.float64),
                ("decision_type", self._decision, np.int64),
                ("left_child", self._left, np.int64),
                ("right_child", self._right, np.int64),
            ):
                row = np.array(tree[name].split(), dtype=kind)
                target[number, : len(row)] = row

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The model's score of each row of ``features`` (rows x ``FEATURES``)."""
        values = np.asarray(features, dtype=np.float64)
        count = len(values)
        if not count:
            return np.zeros(0)
        trees = np.arange(len(self._root))[None, :]
        rows = np.arange(count)[:, None]
        node = np.tile(self._root, (count, 1))
        while (inside := node >= 0).any():
            at = np.where(inside, node, 0)
            value = values[rows, self._feature[trees, at]]
            decision = self._decision[trees, at]
            missing = (decision >> 2) & 3
            nan = np.isnan(value)
            value = np.where(nan & (missing != _MISSING_NAN), 0.0, value)
            is_missing = ((missing == _MISSING_ZERO) & (np.abs(value) <= _ZERO)) | (
                (missing == _MISSING_NAN) & nan
            )
            left = np.where(
                is_missing, (decision & _DEFAULT_LEFT) > 0, value <= self._threshold[trees, at]
            )
            below = np.where(left, self._left[trees, at], self._right[trees, at])
            node = np.where(inside, below, node)
        return self._leaf_value[trees, ~node].sum(axis=1)

    def reorder(self, candidates: Candidates) -> list[Scored]:
        """The candidates in the model's order. They keep the first stage's scores, handed
        out best first, so a score still reads as before (the leader's is the best, gaps
        are the first stage's) for what compares scores afterwards (recency margins)."""
        order = np.argsort(-self.scores(candidates.features), kind="stable")
        values = sorted((item.score for item in candidates.items), reverse=True)
        return [
            replace(candidates.items[int(place)], score=value)
            for place, value in zip(order, values, strict=True)
        ]
