"""A learned choice of the quote, measured and not kept (docs/ranking.md, "A learned quote").

``qa.rank.highlight`` quotes the sentence of passage 1 with the most evidence, a weighted sum
of five features. This fits a LightGBM model (binary, "this sentence holds a gold answer")
over those five and seventeen more (each one's gap to the best sentence of its passage, where
the sentence stands, its neighbours' rarity, what it holds that the question does not, the
kind of question, the passage's place) on training questions only: SQuAD 1.1 train as
passages and as news-sized stories opened by a dateline, and RealTimeQA's 2020-2021 quizzes
(so RealTimeQA is reported on its 2022 quizzes only). For each question, the first
``PASSAGES`` passages of Byline's own default ranking are collected with every sentence's
features and whether it holds a gold answer (SQuAD's normalised containment, as ``byline
eval`` counts it).

Settings (which evidence, how many boosting rounds) are chosen by leave-one-set-out: for each
evaluation set with answers, the setting with the best mean on the *other* sets is reported
for it, against the hand-set weights on the same questions. A set's score is the share of its
first ``SELECTION_QUESTIONS`` questions whose marked sentences of passage 1 (the best, and a
runner-up within ``RUNNER_UP_RATIO``) hold an answer; the ceiling is the share whose passage 1
holds one at all.

    python scripts/fit_quote_model.py [--shared ../shared] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import lightgbm
import numpy as np

from embeddings.encoder import Encoder
from qa.eval.beir import Dataset, doc_of_source, load_dataset
from qa.eval.evaluation import answer_in_quote, prepare_index
from qa.eval.selection import leave_one_set_out
from qa.eval.training import SEED, squad_sample
from qa.index.lexical import LexicalIndex
from qa.rank.answertype import AnswerType, answer_type, stem, typed_spans
from qa.rank.followup import content_words
from qa.rank.highlight import FEATURES as SENTENCE_FEATURES
from qa.rank.highlight import WEIGHTS, sentence_features
from qa.search.retrieval import Retriever
from qa.settings import Settings

# Passages per question whose sentences are learned from (passage 1 is the one quoted).
PASSAGES = 3
# Questions per evaluation set for choosing settings (the first judged ones with answers, in
# file order): the figures reported come from `byline eval` over every question.
SELECTION_QUESTIONS = 1000
EVALUATION_SETS = ("news-archive-2022", "squad2-dev", "realtimeqa-2020-2022", "multihop-rag-news")
FEATURES = (
    *SENTENCE_FEATURES,  # cosine, overlap, rarity, type, near_type (qa.rank.highlight)
    "cosine_gap",  # the passage's best sentence cosine minus this one's
    "overlap_gap",  # ... of the share of the question's words
    "rarity_gap",  # ... of the share of the question's rarity
    "position",  # the sentence's place in its passage (log)
    "sentences",  # sentences in the passage (log)
    "words",  # words in the sentence (log)
    "previous_rarity",  # the question's rarity held by the sentence before (NaN: none)
    "next_rarity",  # ... by the sentence after
    "new_words",  # share of the sentence's content words that the question lacks
    "new_names",  # capitalised runs the question does not name (log)
    "numbers",  # holds an amount or a number the question does not
    "bigrams",  # share of the question's adjacent content-word pairs it holds in order
    "quoted",  # holds quotation marks (what someone said)
    "asks",  # the kind of answer asked for: 0 none, 1 time, 2 amount, 3 name, 4 place
    "wh",  # the question word: 0 none, 1 what, 2 which, 3 who, 4 when, 5 where, 6 how, 7 why
    "passage_rank",  # the passage's place among those shown (log)
    "paragraph",  # the passage's place in its story (log)
)
# A second sentence is marked too when its score is this close to the best one's (as
# qa.rank.highlight marks them).
RUNNER_UP_RATIO = 0.95

_ASKS = {None: 0, AnswerType.TIME: 1, AnswerType.AMOUNT: 2, AnswerType.NAME: 3}
_ASKS[AnswerType.PLACE] = 4
_WH = ("what", "which", "who", "when", "where", "how", "why")
_WH_CODE = {word: number for number, word in enumerate(_WH, 1)} | {"whom": 3, "whose": 3}
_QUOTES = re.compile(r"[\"“”]")


EVIDENCE: dict[str, tuple[str, ...]] = {
    "all evidence": (),
    "the five sentence features only": tuple(
        name for name in FEATURES if name not in SENTENCE_FEATURES
    ),
    "no passage place": ("passage_rank", "paragraph"),
}
ROUNDS = (100, 300)
PARAMETERS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "seed": SEED,
    "verbose": -1,
}


def _log(value: float) -> float:
    return math.log1p(max(value, 0.0))


def _stem_sequence(text: str) -> list[str]:
    return [stem(word) for word in content_words(text)]


def _pairs(stems: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(stems, stems[1:], strict=False))


def question_word(question: str) -> int:
    """The code in ``FEATURES``' "wh" of the question's first question word (0: none)."""
    for word in re.findall(r"[a-z]+", question.lower()):
        if word in _WH_CODE:
            return _WH_CODE[word]
    return 0


def quote_features(
    texts: Sequence[str],
    question: str,
    encoder: Encoder,
    lexical: LexicalIndex,
    query: np.ndarray | None = None,
    places: Sequence[tuple[int, int]] | None = None,
) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
    """For each text: its sentence spans and a (sentences x ``FEATURES``) array of their
    evidence. ``places``: each text's (place among the passages shown, paragraph number in
    its story), by default its place in ``texts`` and 0."""
    base = sentence_features(texts, question, encoder, lexical, query)
    places = places or [(number, 0) for number in range(len(texts))]
    kind = answer_type(question)
    asked = set(_stem_sequence(question))
    asked_words = set(content_words(question))
    asked_pairs = _pairs(_stem_sequence(question))
    constant = {"asks": _ASKS[kind], "wh": question_word(question)}
    column = {name: number for number, name in enumerate(FEATURES)}
    results = []
    for text, (spans, evidence), (place, paragraph) in zip(texts, base, places, strict=True):
        count = len(spans)
        features = np.full((count, len(FEATURES)), np.nan, dtype=np.float32)
        if count:
            features[:, : len(SENTENCE_FEATURES)] = evidence
            for name in ("cosine", "overlap", "rarity"):
                values = evidence[:, SENTENCE_FEATURES.index(name)]
                features[:, column[f"{name}_gap"]] = values.max() - values
            rarity = evidence[:, SENTENCE_FEATURES.index("rarity")]
            features[1:, column["previous_rarity"]] = rarity[:-1]
            features[:-1, column["next_rarity"]] = rarity[1:]
            features[:, column["sentences"]] = _log(count)
            features[:, column["passage_rank"]] = _log(place)
            features[:, column["paragraph"]] = _log(paragraph)
            for name, value in constant.items():
                features[:, column[name]] = value
        for number, (start, end) in enumerate(spans):
            sentence = text[start:end]
            words = content_words(sentence)
            stems = [stem(word) for word in words]
            row = features[number]
            row[column["position"]] = _log(number)
            row[column["words"]] = _log(len(sentence.split()))
            row[column["new_words"]] = (
                sum(word not in asked_words and stem(word) not in asked for word in words)
                / len(words)
                if words
                else 0.0
            )
            row[column["new_names"]] = _log(len(typed_spans(sentence, AnswerType.NAME, question)))
            row[column["numbers"]] = bool(typed_spans(sentence, AnswerType.AMOUNT, question))
            row[column["bigrams"]] = (
                len(asked_pairs & _pairs(stems)) / len(asked_pairs) if asked_pairs else np.nan
            )
            row[column["quoted"]] = bool(_QUOTES.search(sentence))
        results.append((spans, features))
    return results


def marked_sentences(scores: np.ndarray) -> list[int]:
    """Which sentences a reply marks, best first: the best, and the runner-up when its score
    is within ``RUNNER_UP_RATIO`` of a positive best one (as ``qa.rank.highlight`` marks)."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    best = scores[order[0]]
    return order[:1] + [i for i in order[1:2] if best > 0 and scores[i] >= RUNNER_UP_RATIO * best]


@dataclass(frozen=True)
class Setting:
    evidence: str
    rounds: int

    @property
    def name(self) -> str:
        return f"{self.evidence}, {self.rounds} rounds"


SETTINGS = [Setting(evidence, rounds) for evidence in EVIDENCE for rounds in ROUNDS]


@dataclass
class Question:
    """One question's first passages: each one's sentence features, which sentences hold an
    answer, and whether the passage is of a gold document."""

    features: list[np.ndarray]
    holds: list[np.ndarray]
    gold: list[bool]


def collect(retriever: Retriever, dataset: Dataset, query_ids: list[str]) -> list[Question]:
    questions = []
    for number, query in enumerate(query_ids, 1):
        text = dataset.queries[query]
        passages, ranking = retriever.search(text, PASSAGES)
        shown = passages[:PASSAGES]
        found = quote_features(
            [p.text for p in shown],
            text,
            retriever.encoder,
            retriever.index.lexical,
            ranking.query_vector,
            [(p.rank - 1, p.paragraph) for p in shown],
        )
        questions.append(
            Question(
                [features for _, features in found],
                [
                    np.array(
                        [answer_in_quote(p.text[s:e], dataset.answers[query]) for s, e in spans],
                        bool,
                    )
                    for p, (spans, _) in zip(shown, found, strict=True)
                ],
                [doc_of_source(p.source, dataset) in dataset.qrels.get(query, {}) for p in shown],
            )
        )
        if number % 250 == 0:
            print(f"  {dataset.name}: {number}/{len(query_ids)}", flush=True)
    return questions


def collected(
    label: str, folder: Path, cache: Path, dates: tuple[str, str] | None, limit: int | None
) -> list[Question]:
    """Each question with answers (dated within ``dates``) and its first passages, cached
    under the features' names, so a change of the features collects again."""
    version = hashlib.sha256(" ".join(FEATURES).encode()).hexdigest()[:10]
    target = cache / f"{label}-{version}.pkl"
    if target.is_file():
        with target.open("rb") as handle:
            return pickle.load(handle)
    dataset = load_dataset(folder)
    query_ids = [q for q in dataset.queries if q in dataset.qrels and q in dataset.answers]
    if dates is not None:
        query_ids = [q for q in query_ids if dates[0] <= dataset.query_dates.get(q, "") < dates[1]]
    query_ids = query_ids[:limit]
    print(f"{label}: {len(query_ids)} questions", flush=True)
    retriever = prepare_index(dataset, progress=True)
    questions = collect(retriever, dataset, query_ids)
    cache.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        pickle.dump(questions, handle)
    return questions


def masked(features: np.ndarray, left_out: tuple[str, ...]) -> np.ndarray:
    features = features.copy()
    features[:, [FEATURES.index(name) for name in left_out]] = np.nan
    return features


def fit(questions: list[Question], left_out: tuple[str, ...], rounds: int) -> lightgbm.Booster:
    rows = [f for q in questions for f in q.features if len(f)]
    labels = [h for q in questions for h, f in zip(q.holds, q.features, strict=True) if len(f)]
    data = lightgbm.Dataset(
        masked(np.vstack(rows), left_out),
        label=np.concatenate(labels).astype(float),
        feature_name=list(FEATURES),
    )
    return lightgbm.train(PARAMETERS, data, rounds)


def quote_share(
    questions: list[Question], booster: lightgbm.Booster | None, left_out: tuple[str, ...] = ()
) -> dict[str, float]:
    """Share of questions whose marked sentences of passage 1 hold an answer, how often two
    are marked, and the ceiling (passage 1 holds an answer); ``booster`` None: the hand-set
    weights."""
    hits = twos = ceiling = 0
    weights = np.asarray(WEIGHTS, dtype=np.float32)
    for question in questions:
        if not question.features or not len(question.features[0]):
            continue
        features = question.features[0]
        if booster is None:
            scores = features[:, : len(SENTENCE_FEATURES)] @ weights
        else:
            scores = np.asarray(booster.predict(masked(features, left_out)))
        chosen = marked_sentences(scores)
        ceiling += bool(question.holds[0].any())
        hits += bool(question.holds[0][chosen].any())
        twos += len(chosen) > 1
    count = max(len(questions), 1)
    return {
        "score": round(hits / count, 4),
        "two marked": round(twos / count, 4),
        "ceiling": round(ceiling / count, 4),
        "questions": len(questions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared", help="folder with train/ and eval/")
    parser.add_argument(
        "--cache",
        help="folder for the collected sentences (default: train/quote-sentences in the data "
        "folder, never the repository)",
    )
    args = parser.parse_args()
    shared = Path(args.shared)
    cache = Path(args.cache or Settings.resolve().home / "train" / "quote-sentences")
    train = shared / "train" / "squad1.1-train"
    realtimeqa = shared / "eval" / "realtimeqa-2020-2022"
    training = {
        "squad1.1-train passages": collected(
            "train-squad-passages", squad_sample(train, 60, 1500), cache, None, None
        ),
        "squad1.1-train news-sized stories": collected(
            "train-squad-news-stories",
            # Other articles than the passages' (another seed); fewer than fit_ranker's 100,
            # since a news-cut article is ~120 pieces to embed (~15 a second on 2 cores).
            squad_sample(train, 50, 1000, as_stories=True, news_cut=True, seed=SEED + 1),
            cache,
            None,
            None,
        ),
        "realtimeqa 2020-2021": collected(
            "train-realtimeqa-2020-2021", realtimeqa, cache, ("", "2022"), None
        ),
    }
    evaluation = {
        name: collected(
            f"eval-{name}",
            shared / "eval" / name,
            cache,
            ("2022", "9999") if name.startswith("realtimeqa") else None,
            SELECTION_QUESTIONS,
        )
        for name in EVALUATION_SETS
    }
    everything = [question for questions in training.values() for question in questions]
    boosters = {
        setting.name: fit(everything, EVIDENCE[setting.evidence], setting.rounds)
        for setting in SETTINGS
    }
    left_out = {setting.name: EVIDENCE[setting.evidence] for setting in SETTINGS}
    scores = {
        name: {
            held: quote_share(questions, model, left_out[name])
            for held, questions in {**evaluation, **training}.items()
        }
        for name, model in boosters.items()
    }
    hand_set = {
        name: quote_share(questions, None) for name, questions in {**evaluation, **training}.items()
    }

    chosen, shipped = leave_one_set_out(scores, EVALUATION_SETS)
    loso = {
        held_out: {
            "chosen on the other sets": setting,
            "held out": scores[setting][held_out],
            "hand-set weights": hand_set[held_out],
        }
        for held_out, setting in chosen.items()
    }
    # ``shipped``: the setting that would ship, were the model kept.
    booster = boosters[shipped]
    importance = booster.feature_importance("gain")
    record = {
        "fitted by": "scripts/fit_quote_model.py (not shipped)",
        "training questions": {
            name: {
                "questions": len(questions),
                "sentences": int(sum(len(f) for q in questions for f in q.features)),
                "holding an answer": int(sum(h.sum() for q in questions for h in q.holds)),
            }
            for name, questions in training.items()
        },
        "passages per question": PASSAGES,
        "parameters": PARAMETERS,
        "rounds": booster.current_iteration(),
        "setting": shipped,
        "left out": list(left_out[shipped]),
        "leave-one-set-out": loso,
        "hand-set weights": hand_set,
        "every setting": scores,
        "feature gain (share)": {
            name: round(float(value / importance.sum()), 4)
            for name, value in sorted(zip(FEATURES, importance, strict=True), key=lambda p: -p[1])
        },
    }
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
