"""Check the first stage's hand-set constants on training data: the fusion's start and gain
(``qa.rank.fusion``) and the story weights (``qa.rank.stories``).

Since the learned ranking (``qa.rank.learned``) orders the first stage's candidates, what the
first stage must do is bring the gold document into them: the measure is the share of
questions whose gold document is among the candidates (``candidate_block``), then MRR@10 of
the candidates' documents in first-stage order. Each question's dense, BM25 and story
evidence is computed once; every setting is replayed on it. Questions: the training samples
of ``scripts/fit_ranker.py`` (SQuAD 1.1 train as passages, stories and news-sized stories;
RealTimeQA's 2020-2021 quizzes). The story grid runs on the story samples only (the others
have no stories), with the fusion as shipped.

    python scripts/first_stage_grid.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

import qa.rank.fusion as fusion
import qa.rank.stories as stories
from qa.eval.beir import doc_of_source, load_dataset
from qa.eval.evaluation import prepare_index
from qa.eval.training import squad_sample
from qa.rank.followup import Query
from qa.rank.learned import candidate_block
from qa.records import Paragraph
from qa.search.retrieval import CANDIDATE_POOL, Filters

STARTS = (0.4, 0.5, 0.6, 0.7, 0.8)
GAINS = (0.0, 0.5, 1.0, 1.5)
STORY_WEIGHTS = (0.25, 0.5, 0.75)
STORY_DENSE_WEIGHTS = (0.2, 0.4, 0.6)

Evidence = tuple[
    list[tuple[int, float]], list[tuple[int, float]], stories.StoryEvidence | None, set[str]
]


def evidence(
    folder: Path, dates: tuple[str, str] | None
) -> tuple[list[Evidence], list[Paragraph], list[str]]:
    dataset = load_dataset(folder)
    retriever = prepare_index(dataset, progress=True)
    index = retriever.index
    asked = [
        q
        for q in dataset.queries
        if q in dataset.qrels
        and (dates is None or dates[0] <= dataset.query_dates.get(q, "") < dates[1])
    ]
    rows: list[Evidence] = []
    for query_id in asked:
        query = Query.for_turn(dataset.queries[query_id], ())
        vector = retriever.encoder.encode_query(query.dense_text)
        dense = retriever.dense_scores(vector, CANDIDATE_POOL, Filters())
        lexical = retriever.lexical_scores(query.lexical_text, CANDIDATE_POOL, Filters())
        story = None
        if index.story_lexical is not None:
            story = stories.story_evidence(
                fusion.fuse(dense, lexical),
                index.paragraphs,
                dense,
                index.story_lexical,
                index.story_ids,
                query.lexical_text,
                CANDIDATE_POOL,
            )
        rows.append((dense, lexical, story, set(dataset.qrels[query_id])))
    docs = [doc_of_source(paragraph.source, dataset) for paragraph in index.paragraphs]
    return rows, list(index.paragraphs), docs


def measure(
    data: dict[str, tuple[list[Evidence], list[Paragraph], list[str]]],
) -> dict[str, tuple[float, float]]:
    """Per sample: gold document among the candidates, MRR@10 of their documents."""
    found = {}
    for name, (rows, paragraphs, docs) in data.items():
        hits, reciprocal = 0, 0.0
        for dense, lexical, story, gold in rows:
            items = fusion.fuse(dense, lexical)
            if story is not None:
                items = stories.with_story_context(items, paragraphs, stories.story_scores(story))
            ranked = list(
                dict.fromkeys(docs[item.row] for item in candidate_block(items, paragraphs))
            )
            hits += bool(set(ranked) & gold)
            reciprocal += next((1 / k for k, doc in enumerate(ranked[:10], 1) if doc in gold), 0.0)
        found[name] = (round(hits / len(rows), 4), round(reciprocal / len(rows), 4))
    return found


# The two story shapes ask the same 2,000 questions: for the means "per question set" they
# are averaged first, so those questions count once beside the passages' and the quizzes'.
SAME_QUESTIONS = ("squad stories", "squad news-sized stories")


def report(setting: str, found: dict[str, tuple[float, float]]) -> None:
    recall = np.mean([value[0] for value in found.values()])
    mrr = np.mean([value[1] for value in found.values()])
    sets = [value for name, value in found.items() if name not in SAME_QUESTIONS]
    shared = [found[name] for name in SAME_QUESTIONS if name in found]
    if shared:
        sets.append(tuple(np.mean(shared, axis=0)))
    per_set = np.mean(sets, axis=0)
    print(
        f"{setting}\t{recall:.4f}\t{mrr:.4f}\t{per_set[0]:.4f}\t{per_set[1]:.4f}\t{found}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared", help="folder with train/ and eval/")
    shared = Path(parser.parse_args().shared)
    train = shared / "train" / "squad1.1-train"
    samples = {
        "squad passages": (squad_sample(train, 60, 1500), None),
        "squad stories": (squad_sample(train, 100, 2000, as_stories=True), None),
        "squad news-sized stories": (
            squad_sample(train, 100, 2000, as_stories=True, news_cut=True),
            None,
        ),
        "realtimeqa 2020-2021": (shared / "eval" / "realtimeqa-2020-2022", ("", "2022")),
    }
    data = {name: evidence(folder, dates) for name, (folder, dates) in samples.items()}
    shipped = (fusion.DENSE_WEIGHT, fusion.CONFIDENCE_GAIN)
    print(
        "setting\tmean gold among candidates\tmean MRR@10\tthe same, per question set\t"
        "MRR@10, per question set\tper sample"
    )
    for start, gain in itertools.product(STARTS, GAINS):
        fusion.DENSE_WEIGHT, fusion.CONFIDENCE_GAIN = start, gain
        report(f"fusion start {start}, gain {gain}", measure(data))
    fusion.DENSE_WEIGHT, fusion.CONFIDENCE_GAIN = shipped
    story_samples = {name: value for name, value in data.items() if "stories" in name}
    for weight, dense_weight in itertools.product(STORY_WEIGHTS, STORY_DENSE_WEIGHTS):
        stories.STORY_WEIGHT, stories.STORY_DENSE_WEIGHT = weight, dense_weight
        report(f"story weight {weight}, story dense weight {dense_weight}", measure(story_samples))


if __name__ == "__main__":
    main()
