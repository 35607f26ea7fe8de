"""``byline eval``: recall@k, MRR@10 and nDCG@10 on a BEIR dataset, through the same
retrieval code that ``qa.retrieve`` uses. Metrics come from trec_eval (pytrec_eval)."""

from __future__ import annotations

from pathlib import Path

from embeddings.store import IndexDirectory
from qa.beir import Dataset, corpus_hash, write_articles_jsonl
from qa.build import ProgressCallback, build_index
from qa.settings import Settings


def prepare_index(
    dataset: Dataset,
    *,
    model: str | None = None,
    progress: ProgressCallback | bool | None = None,
) -> Path:
    """An index of the dataset's corpus, reused when one of the same content and model exists."""
    settings = Settings.resolve(model=model)
    key = corpus_hash(dataset)
    root = settings.home / "eval" / f"{dataset.name}-{key}"
    corpus = root / "articles.jsonl"
    directory = IndexDirectory(root / "index")
    if directory.exists():
        manifest = directory.read_manifest()
        if model is None or manifest.get("model") == model:
            return directory.root
    write_articles_jsonl(dataset, corpus)
    build_index([corpus], index=directory.root, model=model, progress=progress)
    return directory.root
