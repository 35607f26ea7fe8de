"""Fit the ranking model of ``qa.rank.learned`` on training data, choose its settings by
leave-one-set-out over the evaluation sets, and write it into the package.

Training questions (``qa.eval.training``; ``../shared/train/README.md`` says what may be used):
SQuAD 1.1 train as passages, as whole articles cut into their paragraphs, and as the same
articles cut into news-sized paragraphs; and RealTimeQA's 2020-2021 quizzes over that set's
evidence passages (so RealTimeQA is reported on its 2022 quizzes only). Each question's
candidates are those of Byline's own first stage (``qa.rank.learned.candidate_block``), with
the features the product computes when serving (a recording ranker stands in for the model in
``Retriever.learned_order``). A candidate's grade: 0 outside the gold documents; inside, 1,
plus 1 if the paragraph holds a gold answer, plus 1 if its best sentence (what a reply quotes)
does.

Settings (the first stage's story weights, which evidence the model may use, how many boosting
rounds, which shapes of SQuAD stories it learns from) are chosen by leave-one-set-out: every
setting is fitted on the training questions only; for each evaluation set, the setting with the
best mean score on the *other* evaluation sets is the one reported for it, and the shipped
setting is the one chosen most often (ties: the best mean over all sets). The score of a set:
the mean of its MRR@10 over documents and, where it has answers, the share of first passages
whose best sentence holds one, both over the reordered candidates of its first
``SELECTION_QUESTIONS`` questions.
The hand-set ordering the model replaced is scored on the same questions.

    python scripts/fit_ranker.py [--shared ../shared] [--cache DIR] [--write]

``--write`` writes ``qa/data/ranker.txt`` and its record ``qa/data/ranker.json``.
"""

from __future__ import annotations

import argparse
import json
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import lightgbm
import numpy as np

import qa.rank.stories as stories
from qa.eval.beir import Dataset, doc_of_source, load_dataset
from qa.eval.evaluation import answer_in_quote, prepare_index
from qa.eval.selection import leave_one_set_out
from qa.eval.training import SEED, squad_sample
from qa.rank.fusion import Scored
from qa.rank.highlight import ranked_highlights
from qa.rank.learned import DEPTH, FEATURES, Candidates
from qa.search.retrieval import Retriever
from qa.settings import Settings

REPOSITORY = Path(__file__).resolve().parent.parent
EVALUATION_SETS = (
    "news-archive-2022",
    "squad2-dev",
    "realtimeqa-2020-2022",
    "multihop-rag-news",
    "scifact",
)
STORY_FEATURES = ("story_cosine", "story_bm25", "story_rank", "story_above", "story_candidates")
SENTENCE_FEATURES = tuple(name for name in FEATURES if name.startswith("sentence"))
# Evidence each setting leaves out (set to missing, so the trees cannot split on it).
EVIDENCE: dict[str, tuple[str, ...]] = {
    "all evidence": (),
    "no sentence evidence": SENTENCE_FEATURES,
    "no story evidence": STORY_FEATURES,
    "no answer-type evidence": ("asks_type", "answer_evidence", "sentence_type"),
}
ROUNDS = (100, 300)
# SQuAD articles whose paragraphs are cut like news ones, besides (or instead of) as they are.
SQUAD_STORY_SHAPES = {
    "Wikipedia paragraphs": ("squad1.1-train stories",),
    "and news-sized paragraphs": ("squad1.1-train stories", "squad1.1-train news-sized stories"),
}


# The first stage's story weights (qa.rank.stories: STORY_WEIGHT, STORY_DENSE_WEIGHT): the
# release's, and those scripts/first_stage_grid.py finds best on the training stories. Each
# changes every candidate's evidence, so the candidates are collected under each.
FIRST_STAGES = {
    "story weights 0.5 / 0.4": (0.5, 0.4),
    "story weights 0.25 / 0.2": (0.25, 0.2),
}


@dataclass(frozen=True)
class Setting:
    first_stage: str
    evidence: str
    rounds: int
    stories: str

    @property
    def name(self) -> str:
        return (
            f"{self.first_stage}, {self.evidence}, {self.rounds} rounds, "
            f"SQuAD stories: {self.stories}"
        )


SETTINGS = [
    Setting(first_stage, evidence, rounds, stories)
    for first_stage in FIRST_STAGES
    for evidence in EVIDENCE
    for rounds in ROUNDS
    for stories in SQUAD_STORY_SHAPES
]
PARAMETERS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [1, 5],
    "label_gain": [0, 1, 3, 7],
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "seed": SEED,
    "verbose": -1,
}
# Repeat factors (qa.rank.stories.REPEAT_FACTOR, applied after the model) replayed on the
# shipped model's candidates, for the record: the factor is not chosen here (docs/ranking.md).
REPEAT_FACTORS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
# Questions per evaluation set for choosing settings (the first judged ones, in file order):
# the figures reported come from `byline eval` over every question.
SELECTION_QUESTIONS = 1000


@dataclass
class Group:
    """One question's candidates: features, grades, documents, and whether each one's best
    sentence holds an answer (None: the question has no answer strings)."""

    features: np.ndarray
    grades: np.ndarray
    docs: list[str]
    quote_hits: np.ndarray | None
    # The hand-set ordering's first ten documents and whether its quote holds an answer.
    hand_docs: list[str]
    hand_quote: bool | None
    gold: set[str]


class Recorder:
    """Stands in for the model in ``Retriever.learned_order``: keeps the candidates' evidence
    and leaves their order alone."""

    def __init__(self) -> None:
        self.last: Candidates | None = None

    def reorder(self, candidates: Candidates) -> list[Scored]:
        self.last = candidates
        return list(candidates.items)


def collect(retriever: Retriever, dataset: Dataset, query_ids: list[str]) -> list[Group]:
    recorder = Recorder()
    retriever.ranker = recorder  # type: ignore[assignment]
    paragraphs = retriever.index.paragraphs
    groups: list[Group] = []
    for number, query in enumerate(query_ids, 1):
        recorder.last = None
        retriever.ranked(dataset.queries[query], DEPTH)
        candidates = recorder.last
        if candidates is None or not candidates.items:
            continue
        answers = dataset.answers.get(query, ())
        docs, grades, hits = [], [], []
        for item, sentence in zip(candidates.items, candidates.best_sentences, strict=True):
            text = paragraphs[item.row].text
            doc = doc_of_source(paragraphs[item.row].source, dataset)
            in_quote = bool(sentence) and answer_in_quote(text[sentence[0] : sentence[1]], answers)
            gold = doc in dataset.qrels.get(query, {})
            docs.append(doc)
            hits.append(in_quote)
            grades.append(
                gold * (1 + answer_in_quote(text, answers) + in_quote) if answers else 3 * gold
            )
        groups.append(
            Group(
                candidates.features,
                np.array(grades),
                docs,
                np.array(hits) if answers else None,
                *hand_order(retriever, dataset, query, recorder),
                set(dataset.qrels.get(query, {})),
            )
        )
        if number % 250 == 0:
            print(f"  {dataset.name}: {number}/{len(query_ids)}", flush=True)
    return groups


def hand_order(
    retriever: Retriever, dataset: Dataset, query: str, recorder: Recorder
) -> tuple[list[str], bool | None]:
    """The hand-set ordering's first ten documents and whether its quote holds an answer."""
    retriever.ranker = None
    try:
        ranking = retriever.ranked(dataset.queries[query], 10)
    finally:
        retriever.ranker = recorder  # type: ignore[assignment]
    paragraphs = retriever.index.paragraphs
    docs = [doc_of_source(paragraphs[item.row].source, dataset) for item in ranking.items]
    answers = dataset.answers.get(query, ())
    if not answers or not ranking.items:
        return docs, None
    # The quote as a reply opens with it: passage 1's best sentence (qa.rank.highlight).
    top = retriever.passage(ranking.items[0], 1)
    best = ranked_highlights(
        [top],
        dataset.queries[query],
        retriever.encoder,
        retriever.index.lexical,
        ranking.query_vector,
    )[0][1]
    if best is None:
        return docs, False
    return docs, answer_in_quote(top.text[best[0] - top.start : best[1] - top.start], answers)


def collected(
    name: str,
    folder: Path,
    cache: Path,
    dates: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[Group]:
    """Each judged question's candidates (of those dated within ``dates``), cached."""
    target = cache / f"{name}.pkl"
    if target.is_file():
        with target.open("rb") as handle:
            return pickle.load(handle)
    dataset = load_dataset(folder)
    query_ids = [q for q in dataset.queries if q in dataset.qrels]
    if dates is not None:
        query_ids = [q for q in query_ids if dates[0] <= dataset.query_dates.get(q, "") < dates[1]]
    query_ids = query_ids[:limit]
    print(f"{name}: {len(query_ids)} questions", flush=True)
    groups = collect(prepare_index(dataset, progress=True), dataset, query_ids)
    cache.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        pickle.dump(groups, handle)
    return groups


def masked(features: np.ndarray, left_out: tuple[str, ...]) -> np.ndarray:
    features = features.copy()
    features[:, [FEATURES.index(name) for name in left_out]] = np.nan
    return features


def fit(groups: list[Group], left_out: tuple[str, ...], rounds: int) -> lightgbm.Booster:
    """Lambdarank on the questions with a graded candidate."""
    useful = [group for group in groups if group.grades.max() > 0]
    data = lightgbm.Dataset(
        masked(np.vstack([g.features for g in useful]), left_out),
        label=np.concatenate([g.grades for g in useful]),
        group=[len(g.grades) for g in useful],
        feature_name=list(FEATURES),
    )
    return lightgbm.train(PARAMETERS, data, rounds)


def offline_scores(
    groups: list[Group], booster: lightgbm.Booster | None, left_out: tuple[str, ...] = ()
) -> dict[str, float]:
    """MRR@10 over documents and the first passage's quote, with the candidates in the
    model's order (None: the hand-set ordering the model replaces)."""
    reciprocal, quotes = [], []
    for group in groups:
        gold = group.gold
        if booster is None:
            docs = list(dict.fromkeys(group.hand_docs))[:10]
            quote = group.hand_quote
        else:
            scores = np.asarray(booster.predict(masked(group.features, left_out), num_threads=2))
            order = np.argsort(-scores, kind="stable")
            docs = list(dict.fromkeys(group.docs[i] for i in order))[:10]
            quote = None if group.quote_hits is None else bool(group.quote_hits[order[0]])
        reciprocal.append(next((1 / rank for rank, doc in enumerate(docs, 1) if doc in gold), 0.0))
        if quote is not None:
            quotes.append(quote)
    found = {"mrr@10": float(np.mean(reciprocal))}
    if quotes:
        found["quote"] = float(np.mean(quotes))
    found["score"] = float(np.mean(list(found.values())))
    return {name: round(value, 4) for name, value in found.items()}


def repeat_factor_grid(
    groups: list[Group], booster: lightgbm.Booster, left_out: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """For each repeat factor, over the questions with a graded candidate: the share whose
    first five passages hold a gold story, and the share whose first five hold a paragraph
    that answers, with the candidates in the model's order and a story's further paragraphs
    damped as ``qa.rank.stories.damp_repeats`` does. A replay over the candidates alone: the
    first stage's later paragraphs, which could move up past damped ones, are not there."""
    first_stage = FEATURES.index("first_stage")
    useful = [group for group in groups if group.grades.max() > 0]
    found = {}
    for factor in REPEAT_FACTORS:
        story, answer = [], []
        for group in useful:
            scores = np.asarray(booster.predict(masked(group.features, left_out), num_threads=2))
            order = np.argsort(-scores, kind="stable")
            # The model's order keeps the first stage's scores, handed out best first.
            values = np.sort(group.features[:, first_stage])[::-1]
            seen: Counter[str] = Counter()
            damped = []
            for place, value in zip(order, values, strict=True):
                damped.append((value * factor ** seen[group.docs[place]], int(place)))
                seen[group.docs[place]] += 1
            first = [place for _, place in sorted(damped, key=lambda pair: -pair[0])[:5]]
            story.append(max(group.grades[first]) > 0)
            answer.append(max(group.grades[first]) >= 2)
        found[str(factor)] = {
            "gold story in 5": round(float(np.mean(story)), 4),
            "answering paragraph in 5": round(float(np.mean(answer)), 4),
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared", help="folder with train/ and eval/")
    parser.add_argument(
        "--cache",
        help="folder for the collected candidates (default: train/ranker-candidates in the data "
        "folder, never the repository)",
    )
    parser.add_argument("--write", action="store_true", help="write the model into qa/data")
    args = parser.parse_args()
    shared = Path(args.shared)
    cache = Path(args.cache or Settings.resolve().home / "train" / "ranker-candidates")
    train = shared / "train" / "squad1.1-train"
    samples = {
        "squad1.1-train passages": ("train-squad-passages", squad_sample(train, 60, 1500), None),
        "squad1.1-train stories": (
            "train-squad-stories",
            squad_sample(train, 100, 2000, as_stories=True),
            None,
        ),
        "squad1.1-train news-sized stories": (
            "train-squad-news-stories",
            squad_sample(train, 100, 2000, as_stories=True, news_cut=True),
            None,
        ),
        "realtimeqa 2020-2021": (
            "train-realtimeqa-2020-2021",
            shared / "eval" / "realtimeqa-2020-2022",
            ("", "2022"),
        ),
    }
    shipped_weights = (stories.STORY_WEIGHT, stories.STORY_DENSE_WEIGHT)
    training: dict[str, dict[str, list[Group]]] = {}
    evaluation: dict[str, dict[str, list[Group]]] = {}
    for first_stage, (weight, dense_weight) in FIRST_STAGES.items():
        stories.STORY_WEIGHT, stories.STORY_DENSE_WEIGHT = weight, dense_weight
        folder = cache / f"story-{weight}-{dense_weight}"
        training[first_stage] = {
            name: collected(label, sample, folder, dates)
            for name, (label, sample, dates) in samples.items()
        }
        evaluation[first_stage] = {
            name: collected(
                f"eval-{name}",
                shared / "eval" / name,
                folder,
                ("2022", "9999") if name.startswith("realtimeqa") else None,
                SELECTION_QUESTIONS,
            )
            for name in EVALUATION_SETS
        }
    stories.STORY_WEIGHT, stories.STORY_DENSE_WEIGHT = shipped_weights
    # The hand-set ordering is scored under the story weights it was set with.
    hand_stage = next(name for name, value in FIRST_STAGES.items() if value == shipped_weights)
    models = {
        setting.name: fit(
            [
                group
                for name, groups in training[setting.first_stage].items()
                if not name.startswith("squad1.1-train")
                or name.endswith("passages")
                or name in SQUAD_STORY_SHAPES[setting.stories]
                for group in groups
            ],
            EVIDENCE[setting.evidence],
            setting.rounds,
        )
        for setting in SETTINGS
    }
    left_out = {setting.name: EVIDENCE[setting.evidence] for setting in SETTINGS}
    stage_of = {setting.name: setting.first_stage for setting in SETTINGS}
    scores = {
        name: {
            held: offline_scores(groups, model, left_out[name])
            for held, groups in evaluation[stage_of[name]].items()
        }
        for name, model in models.items()
    }
    hand_set = {
        name: offline_scores(groups, None) for name, groups in evaluation[hand_stage].items()
    }

    chosen, shipped = leave_one_set_out(scores, EVALUATION_SETS)
    loso = {
        held_out: {
            "chosen on the other sets": setting,
            "held out": scores[setting][held_out],
            "hand-set ordering": hand_set[held_out],
        }
        for held_out, setting in chosen.items()
    }
    booster = models[shipped]
    importance = booster.feature_importance("gain")
    record = {
        "fitted by": "scripts/fit_ranker.py",
        "training questions": {
            name: {
                "questions": len(groups),
                "with a graded candidate": int(sum(g.grades.max() > 0 for g in groups)),
            }
            for name, groups in training[stage_of[shipped]].items()
        },
        "candidates per question": DEPTH,
        "first stage": {
            "setting": stage_of[shipped],
            "story weight": FIRST_STAGES[stage_of[shipped]][0],
            "story dense weight": FIRST_STAGES[stage_of[shipped]][1],
        },
        "parameters": PARAMETERS,
        "rounds": booster.current_iteration(),
        "setting": shipped,
        "left out": list(left_out[shipped]),
        "leave-one-set-out": loso,
        "every setting": scores,
        "repeat factor, replayed (not chosen here)": {
            name: repeat_factor_grid(groups, booster, left_out[shipped])
            for name, groups in [
                *training[stage_of[shipped]].items(),
                (
                    "news-archive-2022 (evaluation)",
                    evaluation[stage_of[shipped]]["news-archive-2022"],
                ),
            ]
            if name.endswith("stories") or name.startswith("news-archive")
        },
        "feature gain (share)": {
            name: round(float(value / importance.sum()), 4)
            for name, value in sorted(zip(FEATURES, importance, strict=True), key=lambda p: -p[1])
        },
    }
    print(json.dumps(record, indent=2))
    if FIRST_STAGES[stage_of[shipped]] != shipped_weights:
        weight, dense_weight = FIRST_STAGES[stage_of[shipped]]
        print(
            "the chosen first stage differs from qa/rank/stories.py: set STORY_WEIGHT = "
            f"{weight} and STORY_DENSE_WEIGHT = {dense_weight} there"
        )
    if args.write:
        data = REPOSITORY / "qa" / "data"
        (data / "ranker.txt").write_text(booster.model_to_string(), encoding="utf-8")
        (data / "ranker.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {data / 'ranker.txt'} and ranker.json")


if __name__ == "__main__":
    main()
