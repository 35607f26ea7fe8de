"""Choose the dense weight of hybrid fusion on the shared evaluation sets.

Each query's dense and BM25 candidate lists are computed once; every weight is then scored
with trec_eval. The weight is one number for all datasets (no per-query or per-dataset
tuning): the product is judged on archives nobody has seen.

    python scripts/fusion_grid.py ../shared/eval/multihop-rag-news ../shared/eval/squad2-dev
"""

from __future__ import annotations

import sys

from qa.eval.beir import doc_of_source, load_dataset
from qa.eval.evaluation import prepare_index, score_runs
from qa.rank.followup import Query
from qa.rank.fusion import fuse
from qa.search.retrieval import CANDIDATE_POOL, Filters

WEIGHTS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]


def main(folders: list[str]) -> None:
    print("dataset", *[f"w={w}" for w in WEIGHTS], sep="\t")
    for folder in folders:
        dataset = load_dataset(folder)
        retriever = prepare_index(dataset)
        lists = {}
        for query_id, text in dataset.queries.items():
            query = Query.for_turn(text, ())
            vector = retriever.encoder.encode_query(query.dense_text)
            lists[query_id] = (
                retriever.dense_scores(vector, CANDIDATE_POOL, Filters()),
                retriever.lexical_scores(query.lexical_text, CANDIDATE_POOL, Filters()),
            )
        for metric in ("ndcg@10", "recall@5", "recall@1"):
            row = []
            for weight in WEIGHTS:
                runs = {}
                for query_id, (dense, lexical) in lists.items():
                    ranked = fuse(dense, lexical, weight)
                    docs = (
                        doc_of_source(retriever.index.paragraphs[s.row].source, dataset)
                        for s in ranked
                    )
                    runs[query_id] = list(dict.fromkeys(docs))
                row.append(score_runs(runs, dataset.qrels)[metric])
            print(f"{dataset.name} {metric}", *[f"{v:.4f}" for v in row], sep="\t", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
