"""The Milvus store on Milvus Lite (embedded, a .db file) with the real model: the same
passages as FAISS, incremental rebuilds, filters inside Milvus, clear errors.

Skipped only where the scale extra is not installed (scripts/test.sh installs it)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "pymilvus", reason="the scale extra is not installed: pip install -e '.[scale]'"
)
pytest.importorskip(
    "milvus_lite", reason="the scale extra is not installed: pip install -e '.[scale]'"
)

from conftest import SEED_CORPUS  # noqa: E402

import qa  # noqa: E402
from embeddings.errors import StoreConfigError  # noqa: E402
from embeddings.store import IndexDirectory  # noqa: E402
from embeddings.stores.base import LIVE, StoreSpec, parse_store  # noqa: E402
from embeddings.stores.milvus import MilvusStore, client_for  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.index.build import build_index  # noqa: E402
from qa.search.query import get_retriever  # noqa: E402
from tests.conftest import filter_cases  # noqa: E402

QUESTIONS = [
    "When will Blinken visit China?",
    "How much did the ruble fall?",
    "What did the WHO say about the new variant?",
    "Why was the trip postponed?",
    "interest rates",
    "Who won the election?",
]


def _identity(passages: list[qa.Passage]) -> list[tuple[str, int, int]]:
    return [(p.article_id, p.paragraph, p.start) for p in passages]


@pytest.fixture(scope="module")
def milvus_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("milvus")
    store = f"milvus://{folder / 'byline.db'}"
    build_index([SEED_CORPUS], index=folder / "index", store=store)
    return folder / "index", store


@pytest.mark.parametrize("mode", ["dense", "hybrid", "bm25"])
def test_same_passages_as_faiss_on_the_default_archive(
    seed_index: Path, milvus_index: tuple[Path, str], mode: str
) -> None:
    index, _ = milvus_index
    for question in QUESTIONS:
        faiss = qa.retrieve(question, k=10, index=seed_index, mode=mode)
        milvus = qa.retrieve(question, k=10, index=index, mode=mode)
        assert _identity(milvus) == _identity(faiss), (question, mode)
        assert [p.score for p in milvus] == pytest.approx([p.score for p in faiss], abs=2e-6)
        unscored = [dataclasses.replace(p, score=0.0) for p in milvus]
        assert unscored == [dataclasses.replace(p, score=0.0) for p in faiss], (
            "a Passage is the same whichever store answered"
        )


def test_filters_run_inside_milvus_and_match_faiss(
    seed_index: Path, milvus_index: tuple[Path, str]
) -> None:
    index, _ = milvus_index
    faiss, milvus = get_retriever(seed_index), get_retriever(index)
    assert milvus.index.remote is not None and milvus.index.vectors is None
    cases = filter_cases(faiss.index)
    vector = faiss.encoder.encode_query("What happened next?")
    for filters in cases:
        expected = faiss.dense_scores(vector, 20, filters)
        found = milvus.dense_scores(vector, 20, filters)
        assert [row for row, _ in found] == [row for row, _ in expected], filters
        assert all(filters.allows(milvus.index.paragraphs[row]) for row, _ in found)


def test_rebuild_upserts_new_deletes_removed_and_embeds_only_new(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = SEED_CORPUS.read_text(encoding="utf-8")
    (corpus / "seed.txt").write_text(text, encoding="utf-8")
    store, index = f"milvus://{tmp_path / 'm.db'}", tmp_path / "index"
    first = build_index([corpus], index=index, store=store)
    assert first.embedded > 30 and first.reused == 0
    windows = first.embedded

    extra = "Harbour report\n\nThe harbour reopened on Monday after the storm, officials said.\n"
    (corpus / "extra.txt").write_text(extra, encoding="utf-8")
    second = build_index([corpus], index=index)  # no --store: the index's own store is kept
    assert (second.embedded, second.removed) == (1, 0)
    assert second.reused == windows
    top = qa.retrieve("When did the harbour reopen?", k=1, index=index, mode="dense")[0]
    assert "harbour reopened" in top.text

    (corpus / "extra.txt").unlink()
    third = build_index([corpus], index=index)
    assert (third.embedded, third.removed) == (0, 1)
    manifest = get_retriever(index).index.manifest
    assert manifest["store"]["generation"] == 3
    spec = StoreSpec("milvus", parse_store(store).uri, manifest["store"]["collection"])
    collection = MilvusStore.open(spec, manifest["store"]["collection"], 384)
    assert collection.count(3) == windows
    # The row that died in build 3 is still there for readers of generation 2 ...
    assert collection.count(2) == windows + 1
    # ... until the next build, which removes it (nothing is re-embedded).
    assert build_index([corpus], index=index).embedded == 0
    total = client_for(spec).query(spec.collection, filter="", output_fields=["count(*)"])
    assert total[0]["count(*)"] == windows
    dead = client_for(spec).query(spec.collection, filter=f"died < {LIVE}", output_fields=["pk"])
    assert list(dead) == []

    full = build_index([corpus], index=index, full=True)
    assert full.embedded == windows and "--full" in (full.full_rebuild_reason or "")
    assert full.removed == windows  # every old row is replaced by a fresh one
    assert collection.count(5) == windows


def test_moving_a_faiss_index_into_milvus_embeds_nothing(tmp_path: Path, seed_index: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    report = build_index([SEED_CORPUS], index=index, store=f"milvus://{tmp_path / 'moved.db'}")
    assert report.embedded == 0 and report.reused > 30
    for question in QUESTIONS[:3]:
        expected = _identity(qa.retrieve(question, k=10, index=seed_index))
        assert _identity(qa.retrieve(question, k=10, index=index)) == expected


def test_eval_on_milvus_matches_faiss_on_a_shared_subset(tmp_path: Path) -> None:
    from qa.eval.beir import load_dataset
    from qa.eval.evaluation import evaluate, prepare_index, run_queries

    scifact = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "scifact"
    if not scifact.is_dir():
        pytest.skip(f"{scifact} is not there (the shared eval data)")
    subset = tmp_path / "scifact-subset"
    subset.mkdir()
    # The first 150 abstracts and the queries judged against them: a corpus that builds in
    # well under a minute on a 2-core machine (Milvus reuses the FAISS build's vectors).
    lines = (scifact / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:150]
    (subset / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = {json.loads(line)["_id"] for line in lines}
    qrels = (scifact / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    kept = [qrels[0]] + [row for row in qrels[1:] if row.split("\t")[1] in docs]
    (subset / "qrels.tsv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    queries = {row.split("\t")[0] for row in kept[1:]}
    query_lines = [
        line
        for line in (scifact / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["_id"] in queries
    ]
    (subset / "queries.jsonl").write_text("\n".join(query_lines) + "\n", encoding="utf-8")
    assert len(query_lines) >= 5
    store = f"milvus://{tmp_path / 'eval.db'}"
    faiss, milvus = evaluate(subset), evaluate(subset, store=store)
    assert milvus.metrics == faiss.metrics
    # Not just the figures: every query's ranked documents, ids and order, to depth 100.
    dataset = load_dataset(subset)
    faiss_runs = run_queries(prepare_index(dataset), dataset, "hybrid")
    milvus_runs = run_queries(prepare_index(dataset, store=store), dataset, "hybrid")
    assert milvus_runs.docs == faiss_runs.docs
    assert main(["eval", str(subset), "--store", store, "--mode", "dense", "--json"]) == 0


def test_bad_store_settings_are_one_clear_line(
    tmp_path: Path,
    milvus_index: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, _ = milvus_index
    cases = [
        (["ask", "q", "--index", str(index), "--store", "http://127.0.0.1:9"], 1, "cannot reach"),
        (["build", str(SEED_CORPUS), "--store", "milvus://x.sqlite"], 2, "ending in .db"),
        (["build", str(SEED_CORPUS), "--store", "redis://x"], 2, "unknown store"),
    ]
    for argv, code, words in cases:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert words in err, err
    # A collection of 384-d vectors, built again with a model of another dimension.
    spec = parse_store(f"milvus://{tmp_path / 'dim.db'}?collection=news")
    client_for(spec)  # creates the file
    MilvusStore.create_or_open(spec, "news", 384, 10)
    with pytest.raises(
        StoreConfigError, match="holds 384-dimensional vectors but the model makes 8"
    ):
        MilvusStore.open(spec, "news", 8)
    # pymilvus missing: the fix is the extra.
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "pymilvus", None)
        assert main(["build", str(SEED_CORPUS), "--index", str(tmp_path / "i"),
                     "--store", f"milvus://{tmp_path / 'none.db'}"]) == 1  # fmt: skip
        err = capsys.readouterr().err
        assert "pymilvus, which is not installed" in err and "byline[scale]" in err
    # A .db file another process holds (Milvus Lite opens a file in one process at a time).
    held = tmp_path / "held.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pymilvus import MilvusClient\n"
         "MilvusClient(sys.argv[1]).list_collections()\nprint('HELD', flush=True)\n"
         "time.sleep(120)", str(held)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("HELD")
        argv = ["build", str(SEED_CORPUS), "--index", str(tmp_path / "h"), "--store"]
        assert main([*argv, f"milvus://{held}"]) == 1
        err = capsys.readouterr().err
        assert "one process open a file at a time" in err and "milvus-lite server" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    # The index keeps its vectors in Milvus, the flag says FAISS: named, with the fix.
    assert main(["ask", "q", "--index", str(index), "--store", "faiss"]) == 1
    assert "keeps its vectors in Milvus" in capsys.readouterr().err


def test_vectors_in_milvus_equal_the_faiss_index(
    seed_index: Path, milvus_index: tuple[Path, str]
) -> None:
    index, _ = milvus_index
    faiss, milvus = get_retriever(seed_index).index, get_retriever(index).index
    assert milvus.remote is not None and faiss.vectors is not None
    keys = np.load(IndexDirectory(index).current_path() / "windows.npz")["keys"]
    store = milvus.remote.store
    assert isinstance(store, MilvusStore)
    stored = store.vectors_for([str(k) for k in keys], milvus.remote.generation)
    assert len(stored) == len(set(keys)) == len(faiss.vectors)
    reference = faiss.vectors.vectors()
    for row, key in enumerate(keys):
        assert np.allclose(stored[str(key)], reference[row], atol=1e-6)


def test_queries_in_the_same_process_answer_during_a_rebuild(tmp_path: Path) -> None:
    """``byline serve`` on a milvus:// file rebuilds in its own process (Milvus Lite lets one
    process open the file): questions asked while the new rows are in answer as before."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_CORPUS, corpus / "seed.txt")
    index, store = tmp_path / "index", f"milvus://{tmp_path / 'live.db'}"
    build_index([corpus], index=index, store=store)
    before = [_identity(qa.retrieve(q, k=5, index=index)) for q in QUESTIONS]
    for number in range(5):
        (corpus / f"harbour-{number}.txt").write_text(
            f"Harbour report {number}\n\nThe harbour board met on day {number}: China visit, "
            "ruble, rates and the WHO were on its agenda.\n",
            encoding="utf-8",
        )
    parked, resume = threading.Event(), threading.Event()

    def progress(done: int, total: int, message: str) -> None:
        if message == "writing the index":  # rows inserted and marked, version not written
            parked.set()
            resume.wait(120)

    builder = threading.Thread(target=build_index, args=([corpus],), kwargs={
        "index": index, "progress": progress})  # fmt: skip
    builder.start()
    try:
        assert parked.wait(120), "the build never reached the point of writing the index"
        during = [_identity(qa.retrieve(q, k=5, index=index)) for q in QUESTIONS]
        assert during == before
    finally:
        resume.set()
        builder.join(120)
    titles = {info.title for info in qa.list_articles(index)}
    assert {f"Harbour report {n}" for n in range(5)} <= titles
