"""question -> list[Passage]: the one public query call, and the cache that serves it."""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from embeddings.encoder import Encoder
from embeddings.errors import EmbeddingsError
from embeddings.index import IVF_MAX_K
from embeddings.store import check_model
from qa.errors import IndexStateError, InputError, as_byline_error
from qa.index import filter_cache
from qa.index.remote_search import remote_bm25_scores, remote_dense_scores
from qa.index.store import LoadedIndex
from qa.index.syndication import collapse, other_copies
from qa.ingest.corpus import parse_date
from qa.rank.answer_first import answer_first
from qa.rank.diversity import drop_near_duplicates
from qa.rank.followup import CONTEXT_WEIGHT, Query
from qa.rank.fusion import MODES, Scored, fuse, normalised, single
from qa.rank.highlight import sentence_evidence
from qa.rank.learned import FirstStage, LearnedRanker, candidate_features
from qa.rank.ordering import boost_by_evidence, who_is_subject
from qa.rank.recency import RECENCY_MARGIN, TOPIC_MARGIN, prefer_recent
from qa.rank.stories import damp_repeats, story_evidence, story_scores, with_story_context
from qa.records import Paragraph, Passage
from qa.search.timeframe import asks_latest, wants_recent

MAX_QUESTION_CHARS = 5000
# Fitted by scripts/fit_ranker.py, which also writes its record beside it (ranker.json).
RANKER_FILE = "ranker.txt"
# Each retriever hands the fusion this many candidates, so that a paragraph ranked low by one
# and high by the other still meets the fusion.
CANDIDATE_POOL = 100


@dataclass(frozen=True)
class Filters:
    """Which paragraphs may be returned; None means no restriction."""

    article_id: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def allows(self, paragraph: Paragraph) -> bool:
        if self.article_id is not None and paragraph.article_id != self.article_id:
            return False
        if self.date_from is None and self.date_to is None:
            return True
        if paragraph.published is None:
            return False
        if self.date_from is not None and paragraph.published < self.date_from:
            return False
        return self.date_to is None or paragraph.published <= self.date_to

    @classmethod
    def checked(cls, article_id: str | None, date_from: str | None, date_to: str | None) -> Filters:
        """Filters from user input: dates must be ISO (YYYY-MM-DD)."""
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value is not None and parse_date(value) != value:
                raise InputError(f"{name} must be an ISO date such as 2023-06-18, got {value!r}")
        if article_id is not None and not isinstance(article_id, str):
            raise InputError(f"article_id must be a string, got {article_id!r}")
        return cls(article_id or None, date_from, date_to)

    @property
    def active(self) -> bool:
        return any(value is not None for value in (self.article_id, self.date_from, self.date_to))


def clean_question(question: object) -> str:
    """The question as the model should read it, or an InputError naming the problem."""
    if not isinstance(question, str):
        raise InputError(f"the question must be a string, got {type(question).__name__}")
    # Control characters carry no meaning for retrieval; a question of only them is empty.
    text = "".join(" " if unicodedata.category(char).startswith("C") else char for char in question)
    text = " ".join(text.split())
    if not text:
        raise InputError(
            "the question is empty; type a question, e.g. 'When will Blinken visit China?'"
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(text):,} characters long; ask in at most "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    return text


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a whole number of passages >= 1, got {k!r}")
    return k


@dataclass(frozen=True)
class Ranking:
    items: list[Scored]
    top_dense: float | None  # best cosine of any allowed paragraph, whatever the mode
    query_vector: np.ndarray
    # What BM25 searched: the question, plus the words a follow-up borrowed from the last one.
    lexical_text: str


@functools.cache
def default_ranker() -> LearnedRanker:
    """The ranking model shipped in the package (``qa/data/ranker.txt``)."""
    model = importlib.resources.files("qa") / "data" / RANKER_FILE
    try:
        text = model.read_text(encoding="utf-8")
    except OSError as error:
        raise IndexStateError(
            f"the ranking model {RANKER_FILE} is missing from the installed package ({error}); "
            "reinstall Byline (pip install --force-reinstall .)"
        ) from error
    return LearnedRanker(text)


class Retriever:
    """A loaded index with the model it was built with."""

    def __init__(self, index: LoadedIndex, encoder: Encoder) -> None:
        try:
            check_model(index.manifest, index.root, encoder.model_id, encoder.dimension)
        except EmbeddingsError as error:
            raise as_byline_error(error) from error
        self.index = index
        self.encoder = encoder
        self._ranker: LearnedRanker | None = None
        self._use_default_ranker = True

    @property
    def ranker(self) -> LearnedRanker | None:
        """The model that orders the first candidates (the package's, loaded at first use);
        None: the hand-set ordering, which scripts set to measure against."""
        if self._use_default_ranker:
            self._ranker, self._use_default_ranker = default_ranker(), False
        return self._ranker

    @ranker.setter
    def ranker(self, ranker: LearnedRanker | None) -> None:
        self._ranker, self._use_default_ranker = ranker, False

    def dense_scores(
        self, query: np.ndarray, wanted: int, filters: Filters
    ) -> list[tuple[int, float]]:
        """(paragraph row, score) best first: each paragraph scores as its best window."""
        if self.index.remote is not None:
            return remote_dense_scores(
                self.index.remote, self.index.window_paragraph, query, wanted, filters
            )
        vectors = self.index.vectors
        if vectors is None:
            raise IndexStateError(f"the index at {self.index.root} has no vectors; rebuild it")
        total_windows = len(vectors)
        limit = min(total_windows, max(wanted * 4, wanted + 16))
        windows = None
        if filters.active:
            mask, windows = filter_cache.allowed(
                self.index.paragraphs, self.index.window_paragraph, filters
            )
        while True:
            # A filter's windows searched alone give what widening the unfiltered search
            # would reach, once that search is exact: at once for a flat index, beyond
            # IVF_MAX_K neighbours for an IVF one (where it scans every cell).
            if windows is not None and (limit > IVF_MAX_K or vectors.kind == "flat"):
                return filter_cache.dense_among(
                    vectors, self.index.window_paragraph, query, wanted, windows, limit
                )
            scores, ids = vectors.search(query.reshape(1, -1), limit)
            found, score_of = ids[0], scores[0]
            keep = found >= 0
            rows = self.index.window_paragraph[found[keep]]
            kept_scores = score_of[keep]
            if windows is not None:
                allowed_rows = mask[rows]
                rows, kept_scores = rows[allowed_rows], kept_scores[allowed_rows]
            best = filter_cache.best_per_paragraph(rows, kept_scores)
            if len(best) >= wanted or limit >= total_windows:
                return best[:wanted]
            limit = min(total_windows, limit * 4)

    def lexical_scores(self, text: str, wanted: int, filters: Filters) -> list[tuple[int, float]]:
        """(paragraph row, BM25 score) best first: Byline's BM25, or Milvus' where the index
        was built with ``?bm25=milvus``."""
        remote = self.index.remote
        if remote is not None and remote.text is not None:
            return remote_bm25_scores(remote, text, wanted, filters)
        mask = None
        if filters.active:
            allowed, _ = filter_cache.allowed(
                self.index.paragraphs, self.index.window_paragraph, filters
            )
            mask = allowed.astype(np.float32)
        return self.index.lexical.search(text, wanted, mask)

    def ranked(
        self,
        question: str,
        depth: int,
        filters: Filters | None = None,
        mode: str = "hybrid",
        history: Sequence[str] = (),
    ) -> Ranking:
        """Candidates best first, up to ``depth`` of them (before de-duplication)."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        filters = filters or Filters()
        query = Query.for_turn(clean_question(question), history)
        pool = max(depth, CANDIDATE_POOL)
        vector = self.encoder.encode_query(query.dense_text)
        if query.context_text:
            context = self.encoder.encode_query(query.context_text)
            vector = vector + CONTEXT_WEIGHT * context
            vector = vector / np.linalg.norm(vector)
        # Dense scores are computed in every mode: the best cosine is what says whether the
        # archive answers the question at all.
        dense = self.dense_scores(vector, pool, filters)
        top_dense = dense[0][1] if dense else None
        if mode == "dense":
            return Ranking(
                single(dense, is_dense=True)[:depth], top_dense, vector, query.lexical_text
            )
        lexical = self.lexical_scores(query.lexical_text, pool, filters)
        if mode == "bm25":
            return Ranking(
                single(lexical, is_dense=False)[:depth], top_dense, vector, query.lexical_text
            )
        stage = self.first_stage(query, dense, lexical, top_dense, pool)
        if self.ranker is None:
            items = self.hand_order(stage, query.dense_text, vector)
        else:
            items = self.learned_order(stage, vector, self.ranker)
        return Ranking(items[:depth], top_dense, vector, query.lexical_text)

    def first_stage(
        self,
        query: Query,
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
        top_dense: float | None,
        pool: int,
    ) -> FirstStage:
        """Dense and BM25 candidates fused, with their stories' scores mixed in."""
        fused = fuse(dense, lexical)
        paragraphs = self.index.paragraphs
        story_cosine: dict[str, float] = {}
        story_bm25: dict[str, float] = {}
        if self.index.story_lexical is not None:
            stories = story_evidence(
                fused,
                paragraphs,
                dense,
                self.index.story_lexical,
                self.index.story_ids,
                query.lexical_text,
                pool,
            )
            story_cosine, story_bm25 = stories.cosine, normalised(stories.ranked_lexical)
            items = with_story_context(fused, paragraphs, story_scores(stories))
        else:
            # Every article is one paragraph (the passage-level sets): the story is the paragraph.
            items = fused
            story_cosine = {paragraphs[row].article_id: score for row, score in reversed(dense)}
            story_bm25 = normalised(
                [(paragraphs[row].article_id, score) for row, score in reversed(lexical)]
            )
        return FirstStage(
            query.dense_text,
            items,
            {item.row: item.score for item in fused},
            story_cosine,
            story_bm25,
            top_dense,
        )

    def learned_order(
        self, stage: FirstStage, vector: np.ndarray, ranker: LearnedRanker
    ) -> list[Scored]:
        """The first candidates in the learned model's order (``qa.rank.learned``), a story's
        further paragraphs damped (``qa.rank.stories.damp_repeats``), then "Who is X?"'s
        introducing paragraph lifted from wherever it is."""
        paragraphs = self.index.paragraphs
        candidates = candidate_features(stage, paragraphs, self.encoder, self.index.lexical, vector)
        ordered = ranker.reorder(candidates)
        chosen = {item.row for item in ordered}
        # A story's paragraphs past the model's share of them follow, never above its choice.
        floor = ordered[-1].score if ordered else 0.0
        rest = [
            replace(item, score=min(item.score, floor))
            for item in stage.items
            if item.row not in chosen
        ]
        items = ordered + rest
        if self.index.story_lexical is not None:
            # Passage order only (a story's first paragraph keeps its place): the first
            # passages come from different stories unless one is clearly ahead.
            items = damp_repeats(items, paragraphs)
        if who_is_subject(stage.question) is not None:
            items = boost_by_evidence(items, stage.question, lambda row: paragraphs[row].text)
        return items

    def hand_order(self, stage: FirstStage, question: str, vector: np.ndarray) -> list[Scored]:
        """The hand-set ordering the learned model replaced, kept to measure against."""
        paragraphs = self.index.paragraphs
        fused = boost_by_evidence(stage.items, question, lambda row: paragraphs[row].text)
        if self.index.story_lexical is not None:
            fused = damp_repeats(fused, paragraphs)

        def best_sentence(rows: Sequence[int]) -> list[float]:
            found = sentence_evidence(
                [paragraphs[row].text for row in rows],
                question,
                self.encoder,
                self.index.lexical,
                vector,
            )
            return [max(scores, default=0.0) for _, scores in found]

        return answer_first(fused, best_sentence, lambda row: paragraphs[row].article_id)

    def search(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        mode: str = "hybrid",
        history: Sequence[str] = (),
    ) -> tuple[list[Passage], Ranking]:
        """The top ``k`` distinct passages and the ranking they came from."""
        k = check_k(k)
        # Extra candidates make room for the near-duplicates that are dropped.
        ranking = self.ranked(question, k * 2 + 5, filters, mode, history)
        paragraphs = self.index.paragraphs
        items = ranking.items
        if isinstance(question, str) and wants_recent(question):
            margin = TOPIC_MARGIN if asks_latest(question) else RECENCY_MARGIN
            items = prefer_recent(items, lambda item: paragraphs[item.row].published, margin)
        kept = drop_near_duplicates(items, lambda item: paragraphs[item.row].text)
        kept = collapse(kept, lambda item: paragraphs[item.row].article_id, self.index.copies)
        return [self.passage(item, rank) for rank, item in enumerate(kept[:k], 1)], ranking

    def retrieve(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        mode: str = "hybrid",
        history: Sequence[str] = (),
    ) -> list[Passage]:
        return self.search(question, k, filters, mode=mode, history=history)[0]

    def passage(self, item: Scored, rank: int) -> Passage:
        paragraph = self.index.paragraphs[item.row]
        return Passage(
            text=paragraph.text,
            score=round(item.score, 6),
            rank=rank,
            article_id=paragraph.article_id,
            title=paragraph.title,
            published=paragraph.published,
            section=paragraph.section,
            paragraph=paragraph.index,
            source=paragraph.source,
            start=paragraph.start,
            end=paragraph.end,
            also_in=other_copies(paragraph.article_id, self.index.copies, self.index.articles),
        )
