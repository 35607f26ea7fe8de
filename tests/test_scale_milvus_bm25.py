"""BM25 inside Milvus (``?bm25=milvus``) on Milvus Lite with the real model: the paragraph
that holds a rare word comes first, filters apply inside Milvus, rebuilds keep and drop text
rows by generation, and the default (Byline's BM25) is untouched.

Skipped only where the scale extra is not installed (scripts/test.sh installs it)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

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
from embeddings.stores.base import StoreSpec, parse_store  # noqa: E402
from embeddings.stores.milvus import client_for  # noqa: E402
from embeddings.stores.milvus_text import MilvusTextStore  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.errors import IndexStateError  # noqa: E402
from qa.index.build import build_index  # noqa: E402
from qa.search.query import get_retriever  # noqa: E402
from qa.search.retrieval import Filters, Retriever  # noqa: E402
from tests.conftest import filter_cases  # noqa: E402

# Words that each stand in one paragraph of the bundled archive (checked below).
RARE = ["sullivan", "isabella", "unmanned", "airspace", "turnaround"]


def _holding(retriever: Retriever, word: str) -> list[int]:
    pattern = re.compile(rf"\b{word}\b", re.IGNORECASE)
    return [
        row
        for row, p in enumerate(retriever.index.paragraphs)
        if pattern.search(f"{p.title}\n{p.text}")
    ]


def _boom(*_: object, **__: object) -> object:
    raise AssertionError("Byline's own BM25 was asked, not Milvus'")


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory: pytest.TempPathFactory, seed_index: Path) -> Path:
    # The seed FAISS index moved into Milvus: its vectors are reused, nothing is embedded.
    folder = tmp_path_factory.mktemp("milvus-bm25")
    shutil.copytree(seed_index, folder / "index")
    report = build_index(
        [SEED_CORPUS], index=folder / "index", store=f"milvus://{folder / 'b.db'}?bm25=milvus"
    )
    assert report.embedded == 0
    return folder / "index"


def test_bm25_inside_milvus_puts_the_rare_word_first(
    bm25_index: Path, seed_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = get_retriever(bm25_index)
    remote = retriever.index.remote
    assert remote is not None and remote.text is not None
    assert retriever.index.manifest["store"]["lexical"] == "milvus"
    # Milvus answers the BM25 list: Byline's paragraph BM25 is never asked.
    monkeypatch.setattr(retriever.index.lexical, "search", _boom)
    faiss = get_retriever(seed_index)
    for word in RARE:
        rows = _holding(retriever, word)
        assert len(rows) == 1, (word, rows)
        question = f"{word.title()}?"
        top = retriever.retrieve(question, k=3, mode="bm25")[0]
        paragraph = retriever.index.paragraphs[rows[0]]
        assert (top.article_id, top.paragraph) == (paragraph.article_id, paragraph.index), word
        # The same Passage as Byline's BM25 over FAISS gives, but for the score's scale.
        expected = faiss.retrieve(question, k=3, mode="bm25")[0]
        assert dataclasses.replace(top, score=0.0) == dataclasses.replace(expected, score=0.0)
        assert top.score > 0
        hybrid = retriever.retrieve(f"{word} said", k=5, mode="hybrid")
        assert (paragraph.article_id, paragraph.index) in [
            (p.article_id, p.paragraph) for p in hybrid
        ], word


def test_article_and_date_filters_apply_to_bm25_inside_milvus(bm25_index: Path) -> None:
    retriever = get_retriever(bm25_index)
    paragraphs = retriever.index.paragraphs
    cases = filter_cases(retriever.index)
    text = "China United States talks meeting visit bank rates"
    unfiltered = {row for row, _ in retriever.lexical_scores(text, 100, Filters())}
    for filters in cases:
        found = retriever.lexical_scores(text, 100, filters)
        rows = [row for row, _ in found]
        assert all(filters.allows(paragraphs[row]) for row in rows), filters
        # Nothing the filter allows is lost: the filter runs in the search, not after it.
        assert set(rows) == {row for row in unfiltered if filters.allows(paragraphs[row])}
        assert [score for _, score in found] == sorted((s for _, s in found), reverse=True)
    # The rare word's paragraph, inside and outside the filter that holds it.
    row = _holding(retriever, "sullivan")[0]
    own = paragraphs[row]
    inside = retriever.lexical_scores("sullivan", 5, Filters(article_id=own.article_id))
    assert inside[0][0] == row
    articles = [info.article_id for info in retriever.index.article_infos()]
    other = next(article for article in articles if article != own.article_id)
    assert retriever.lexical_scores("sullivan", 5, Filters(article_id=other)) == []
    if own.published:
        assert retriever.lexical_scores("sullivan", 5, Filters(date_to="2000-01-01")) == []


def test_rebuilds_keep_and_drop_text_rows_by_generation(tmp_path: Path, seed_index: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_CORPUS, corpus / "seed.txt")
    extra = (
        "Harbour report\n\nThe quayside of Zanzibarton reopened on Monday after the storm, "
        "officials said.\n"
    )
    (corpus / "extra.txt").write_text(extra, encoding="utf-8")
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    store = f"milvus://{tmp_path / 'r.db'}?bm25=milvus"
    first = build_index([corpus], index=index, store=store)
    assert first.embedded == 1  # only the new paragraph: the rest moved from FAISS
    top = qa.retrieve("Zanzibarton quayside", k=1, index=index, mode="bm25")[0]
    assert "Zanzibarton" in top.text

    before = get_retriever(index)  # a reader of generation 1, as a server holds one

    (corpus / "extra.txt").unlink()
    second = build_index([corpus], index=index)  # no --store: the index's BM25 is kept
    # The reader of generation 1 still finds the row that generation 2 dropped.
    kept = before.retrieve("Zanzibarton quayside", k=1, mode="bm25")
    assert [p.text for p in kept] == [top.text]
    assert (second.embedded, second.removed) == (0, 1)
    retriever = get_retriever(index)
    recorded = retriever.index.manifest["store"]
    assert (recorded["lexical"], recorded["generation"]) == ("milvus", 2)
    assert [p.text for p in retriever.retrieve("Zanzibarton quayside", k=5, mode="bm25")] == []
    assert all("Zanzibarton" not in p.text for p in qa.retrieve("Zanzibarton quayside", k=5,
               index=index, mode="hybrid"))  # fmt: skip
    # Kept rows keep their text: the seed's rare words are still found, first.
    for word in RARE[:2]:
        row = _holding(retriever, word)[0]
        assert retriever.lexical_scores(word, 3, Filters())[0][0] == row

    spec = StoreSpec("milvus", parse_store(store).uri)
    text = MilvusTextStore.open(spec, recorded["text_collection"])
    paragraphs = len(retriever.index.paragraphs)
    # Generation 2 kept every seed row and dropped one; readers of 1 still see it.
    assert (text.count(2), text.count(1)) == (paragraphs, paragraphs + 1)
    rows = client_for(spec).query(
        recorded["text_collection"], filter="born == 2", output_fields=["count(*)"]
    )
    assert rows[0]["count(*)"] == 0, "a rebuild wrote text rows it already had"
    # The next build removes the dead row, and --full writes every row again.
    build_index([corpus], index=index)
    total = client_for(spec).query(
        recorded["text_collection"], filter="", output_fields=["count(*)"]
    )
    assert total[0]["count(*)"] == paragraphs
    serving = get_retriever(index)  # generation 3, answering while --full writes 4
    row = _holding(serving, RARE[0])[0]
    build_index([corpus], index=index, full=True)
    assert serving.lexical_scores(RARE[0], 3, Filters())[0][0] == row
    assert text.count(4) == paragraphs
    born = client_for(spec).query(
        recorded["text_collection"], filter="born == 4 and died > 4", output_fields=["count(*)"]
    )
    assert born[0]["count(*)"] == paragraphs


def test_the_default_milvus_store_keeps_byline_bm25(tmp_path: Path, seed_index: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    db = tmp_path / "d.db"
    build_index([SEED_CORPUS], index=index, store=f"milvus://{db}")
    retriever = get_retriever(index)
    recorded = retriever.index.manifest["store"]
    assert "lexical" not in recorded and "text_collection" not in recorded
    assert retriever.index.remote is not None and retriever.index.remote.text is None
    assert not client_for(parse_store(f"milvus://{db}")).has_collection(
        f"{recorded['collection']}_text"
    )
    faiss = get_retriever(seed_index)
    for word in RARE[:2]:
        assert retriever.lexical_scores(word, 5, Filters()) == faiss.lexical_scores(
            word, 5, Filters()
        )


def test_bad_bm25_settings_are_one_clear_line(
    tmp_path: Path, bm25_index: Path, seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(StoreConfigError, match="FAISS store takes no options"):
        parse_store("faiss?bm25=milvus")
    with pytest.raises(StoreConfigError, match="bm25='elastic'.*bm25=milvus"):
        parse_store("milvus://x.db?bm25=elastic")
    assert parse_store("milvus://x.db?bm25=milvus").lexical == "milvus"
    assert parse_store("http://h:19530?bm25=byline&collection=c").lexical == "byline"
    assert parse_store("milvus://x.db").lexical is None
    argv = ["build", str(SEED_CORPUS), "--index", str(tmp_path / "i"), "--store"]
    assert main([*argv, "faiss?bm25=milvus"]) == 2
    err = capsys.readouterr().err
    # argparse's usage, then the one line that names the fix (as for any bad --store).
    assert "FAISS store takes no options" in err.strip().splitlines()[-1]
    # An index built with Milvus' BM25, asked with Byline's: named, with the fix.
    uri = get_retriever(bm25_index).index.manifest["store"]["uri"]
    with pytest.raises(IndexStateError, match=r"built with bm25=milvus.*rebuild it with"):
        qa.retrieve("q", index=bm25_index, store=f"milvus://{uri}?bm25=byline")
    assert main(["ask", "q", "--index", str(seed_index), "--store", "faiss?bm25=milvus"]) == 2
