"""The default before question-adaptive fusion, story context and answer evidence, measured
with today's ``byline eval`` code, for docs/ranking.md's "before" rows.

It swaps in the old settings: one global dense weight 0.4, no story context, no answer
evidence in the passage order, the old highlight bonuses (term overlap 0.1, no rarity or
answer type), and no reordering of the first passages by their sentences
(``qa.rank.answer_first``).

    python scripts/eval_previous_default.py ../shared/eval/squad2-dev
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import qa.index.store
import qa.rank.fusion
import qa.rank.highlight
import qa.search.retrieval
from qa.eval.evaluation import evaluate


def use_previous_default() -> None:
    qa.rank.fusion.DENSE_WEIGHT = 0.4
    qa.rank.fusion.CONFIDENCE_GAIN = 0.0
    qa.rank.highlight.WEIGHTS = (1.0, 0.1, 0.0, 0.0, 0.0)
    qa.search.retrieval.answer_first = lambda items, evidence, article_of: list(items)  # type: ignore[assignment]
    qa.search.retrieval.boost_by_evidence = lambda items, question, text_of: list(items)  # type: ignore[assignment]
    load = qa.index.store.LoadedIndex.load.__func__  # type: ignore[attr-defined]

    def without_stories(cls: type, root: Path) -> qa.index.store.LoadedIndex:
        return dataclasses.replace(load(cls, root), story_lexical=None)

    qa.index.store.LoadedIndex.load = classmethod(without_stories)  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    use_previous_default()
    for folder in sys.argv[1:]:
        result = evaluate(folder)
        print(json.dumps({**result.to_dict(), "mode": "before"}), flush=True)
