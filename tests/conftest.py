"""Shared fixtures: the real bundled model, a per-session index of the seed corpus, and an
environment that never reaches the network."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from qa.index.store import LoadedIndex
    from qa.search.retrieval import Filters

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests choose their store and workers themselves (FAISS in this process is the reference),
# session fixtures included, so a developer's own settings never reach them.
os.environ.pop("BYLINE_STORE", None)
os.environ.pop("BYLINE_WORKERS", None)
# The CLI tests run `byline build` inside this process, which would lower the priority of the
# whole test run, and of every server and browser it starts after, for good (tests that
# check the lowering set it themselves).
os.environ.setdefault("BYLINE_BUILD_NICE", "0")

REPO = Path(__file__).resolve().parent.parent
SEED_CORPUS = REPO / "qa" / "data" / "news_articles.txt"
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the user's real data folder."""
    monkeypatch.setenv("BYLINE_HOME", str(tmp_path_factory.getbasetemp() / "byline-home"))
    monkeypatch.delenv("BYLINE_INDEX", raising=False)
    monkeypatch.delenv("BYLINE_MODEL", raising=False)


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    from embeddings.encoder import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled corpus, built once with the real model and FAISS."""
    from qa.index.build import build_index

    root = tmp_path_factory.mktemp("seed-index")
    build_index([SEED_CORPUS], index=root)
    return root


@pytest.fixture
def story_index(tmp_path: Path) -> Callable[[list[dict[str, str]]], Path]:
    """Builds an index of hand-written stories (JSONL rows: title, text) and returns it."""

    def build(stories: list[dict[str, str]]) -> Path:
        import qa

        corpus = tmp_path / "stories.jsonl"
        corpus.write_text("".join(json.dumps(story) + "\n" for story in stories))
        index = tmp_path / "index"
        qa.build_index([corpus], index=index)
        return index

    return build


def filter_cases(index: LoadedIndex) -> list[Filters]:
    """Every article of the index alone, date bounds that hold some or none of it, both at
    once, and an article that does not exist: the filters a store's search must honour."""
    from qa.search.retrieval import Filters

    articles = [info.article_id for info in index.article_infos()]
    dated = sorted({p.published for p in index.paragraphs if p.published})
    assert dated, "the seed archive has a dated article"
    return [Filters(article_id=article) for article in articles] + [
        Filters(date_from=dated[0]),
        Filters(date_to=dated[-1]),
        Filters(date_from="2030-01-01"),
        Filters(article_id=articles[0], date_from=dated[0], date_to=dated[-1]),
        Filters(article_id="no-such-article"),
    ]
