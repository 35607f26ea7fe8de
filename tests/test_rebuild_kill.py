"""A never-lost index under hard kills and concurrent writers: a build SIGKILLed at any step
leaves the previous index answering, and one writer holds the lock at a time.

Killed builds run in a subprocess; most use a fake hash "model" there (the kill is what is
tested, not the embedding), one uses the real model and is killed while it embeds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from embeddings.store import IndexDirectory
from qa.cli import main
from qa.index.build import build_index
from tests.conftest import REPO, SEED_CORPUS
from tests.rebuild_archive import answers, build_small_index, copy_index, write_article


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus folder, index) of the two small articles, built once with the real model."""
    return build_small_index(tmp_path_factory.mktemp("small"))


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
