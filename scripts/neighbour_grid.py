"""The answer next door, measured and not kept (docs/ranking.md, "The answer next door").

The rule tried: passage 1's place goes to the paragraph within ``reach`` of it in the same
story whose best sentence has more evidence (``qa.rank.highlight.sentence_evidence``, the
evidence the quote is chosen by), when passage 1 has at most ``longest`` sentences. News
paragraphs are one or two sentences, and the one that shares most with the question often
only sets up the answer that the next one states.

Each question is ranked once by the default ranking; every setting is then replayed on its
passages, and the quote counted as ``byline eval`` counts it (``qa.eval.evaluation``: passage
1's marked sentences hold a gold answer). The training questions are SQuAD 1.1 train articles
as whole stories, with Wikipedia's paragraphs and cut into news-sized ones opened by a dateline
(``qa.eval.training``; 50 other articles than the fit scripts' 60, by another seed). The setting
with the best mean over the two is chosen (ties: the shorter reach, then the stricter length);
news-archive-2022, the one shared set of whole stories, is printed beside them and never
chooses. On archives whose articles are single paragraphs the rule changes nothing.

    python scripts/neighbour_grid.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.eval.beir import Dataset, load_dataset
from qa.eval.evaluation import answer_in_quote, prepare_index
from qa.eval.training import SEED, squad_sample
from qa.ingest.sentences import sentence_spans
from qa.rank.fusion import Scored
from qa.rank.highlight import highlight_spans, sentence_evidence
from qa.records import Passage
from qa.search.retrieval import Retriever

# (reach, longest passage 1 that yields, in sentences; None: any); reach 0 is the ranking as
# it is.
SETTINGS = [(0, None)] + [(reach, longest) for reach in (1, 2) for longest in (1, 2, 3, None)]


def answering_paragraph(
    first: Passage,
    evidence: dict[int, float],
    setting: tuple[int, int | None],
) -> int:
    """The paragraph number that takes passage 1's place under ``setting`` (``evidence``:
    paragraph number -> best sentence evidence, for passage 1 and its neighbours)."""
    reach, longest = setting
    if reach == 0 or (longest is not None and len(sentence_spans(first.text)) > longest):
        return first.paragraph
    near = [first.paragraph]
    for distance in range(1, reach + 1):
        near += [first.paragraph - distance, first.paragraph + distance]
    near = [number for number in near if number in evidence]
    # Passage 1 on ties, then the nearer neighbour, the earlier one first.
    return max(near, key=lambda number: (evidence[number], -near.index(number)))


def replay(retriever: Retriever, dataset: Dataset) -> dict[str, float]:
    """Share of quotes holding an answer under each setting."""
    hits = dict.fromkeys(SETTINGS, 0)
    asked = [q for q in dataset.queries if q in dataset.answers]
    paragraphs = retriever.index.paragraphs
    stories: dict[str, dict[int, int]] = {}
    for row, paragraph in enumerate(paragraphs):
        stories.setdefault(paragraph.article_id, {})[paragraph.index] = row
    widest = max(reach for reach, _ in SETTINGS)
    for number, query in enumerate(asked, 1):
        text = dataset.queries[query]
        passages, ranking = retriever.search(text, 10)
        if not passages:
            continue
        first = passages[0]
        story = stories[first.article_id]
        near = [
            n for n in range(first.paragraph - widest, first.paragraph + widest + 1) if n in story
        ]
        found = sentence_evidence(
            [paragraphs[story[n]].text for n in near],
            text,
            retriever.encoder,
            retriever.index.lexical,
            ranking.query_vector,
        )
        evidence = {n: max(scores, default=0.0) for n, (_, scores) in zip(near, found, strict=True)}
        for setting in SETTINGS:
            chosen = answering_paragraph(first, evidence, setting)
            top = (
                retriever.passage(Scored(story[chosen], first.score, None, None), 1)
                if chosen != first.paragraph
                else first
            )
            spans = highlight_spans(
                [top], text, retriever.encoder, retriever.index.lexical, ranking.query_vector
            )[0]
            quote = " ".join(top.text[s - top.start : e - top.start] for s, e in spans)
            hits[setting] += answer_in_quote(quote, dataset.answers[query])
        if number % 250 == 0:
            print(f"  {dataset.name}: {number}/{len(asked)}", flush=True)
    return {_name(setting): round(hits[setting] / len(asked), 4) for setting in SETTINGS}


def _name(setting: tuple[int, int | None]) -> str:
    reach, longest = setting
    if reach == 0:
        return "no step"
    return f"reach {reach}, passage 1 of at most {longest or 'any number of'} sentences"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared", help="folder with train/ and eval/")
    args = parser.parse_args()
    shared = Path(args.shared)
    train = shared / "train" / "squad1.1-train"
    folders = {
        "squad1.1-train stories": squad_sample(train, 50, 1000, as_stories=True, seed=SEED + 1),
        "squad1.1-train news-sized stories": squad_sample(
            train, 50, 1000, as_stories=True, news_cut=True, seed=SEED + 1
        ),
        "news-archive-2022 (evaluation, not chosen on)": shared / "eval" / "news-archive-2022",
    }
    table = {}
    for name, folder in folders.items():
        dataset = load_dataset(folder)
        table[name] = replay(prepare_index(dataset, progress=True), dataset)
        print(name, json.dumps(table[name]), flush=True)
    training = [name for name in folders if name.startswith("squad")]

    def mean(setting: tuple[int, int | None]) -> float:
        return float(np.mean([table[name][_name(setting)] for name in training]))

    chosen = max(
        SETTINGS, key=lambda s: (round(mean(s), 6), -s[0], -(s[1] if s[1] is not None else 99))
    )
    print(json.dumps({"chosen on training data": _name(chosen), "table": table}, indent=2))


if __name__ == "__main__":
    main()
