"""A Milvus-served index answers during a rebuild in another process and after that build is
SIGKILLed at any step; the next build cleans up. Milvus Lite runs as its own gRPC server here
(``milvus-lite server``), so the building and the querying process are two clients, as with a
Milvus standalone server, through the same code (``--store http://HOST:PORT``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "pymilvus", reason="the scale extra is not installed: pip install -e '.[scale]'"
)
pytest.importorskip(
    "milvus_lite", reason="the scale extra is not installed: pip install -e '.[scale]'"
)

from conftest import REPO, SEED_CORPUS  # noqa: E402

import qa  # noqa: E402
from embeddings.store import IndexDirectory  # noqa: E402
from embeddings.stores.base import StoreSpec  # noqa: E402
from embeddings.stores.milvus import client_for  # noqa: E402
from qa.index.build import build_index  # noqa: E402

QUESTIONS = ["When will Blinken visit China?", "How much did the ruble fall?", "harbour storm"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    command = shutil.which("milvus-lite", path=str(Path(sys.executable).parent))
    assert command, "milvus-lite's command is installed with the package"
    process = subprocess.Popen(
        [command, "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        for line in process.stdout:
            if "listening" in line or time.monotonic() > deadline:
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def _answers(index: Path) -> list[list[tuple[str, int]]]:
    return [
        [(p.article_id, p.paragraph) for p in qa.retrieve(q, k=5, index=index)] for q in QUESTIONS
    ]


def _corpus(folder: Path, articles: int) -> Path:
    folder.mkdir(exist_ok=True)
    shutil.copy(SEED_CORPUS, folder / "seed.txt")
    for number in range(articles):
        body = "\n\n".join(
            f"The harbour board met for session {number} and voted on item {part}: storm "
            f"repairs to quay {part} costing {number * 13 + part} thousand euros."
            for part in range(3)
        )
        (folder / f"harbour-{number:02}.txt").write_text(
            f"Harbour report {number}\n\n{body}\n", encoding="utf-8"
        )
    return folder


# Builds in a subprocess with the real model and parks at one step, where the test queries the
# index (it must answer as before) and then SIGKILLs the build.
_PARKED_BUILD = r"""
import sys, time
import embeddings.store as store
from embeddings.stores.milvus import MilvusStore
import qa.index.build

step, index, uri, corpus = sys.argv[1:5]

def park(name):
    print("AT", name, flush=True)
    time.sleep(600)

if step == "inserted":  # generation G+1's rows are in, the dropped ones not yet marked
    MilvusStore.mark_died = lambda self, pks, generation: park(step)
if step == "marked":  # rows inserted and marked; the index folder's version not yet written
    mark = MilvusStore.mark_died
    MilvusStore.mark_died = lambda self, pks, generation: (mark(self, pks, generation), park(step))
if step == "switching":  # the version is in versions/, CURRENT still names the old one
    write_text = store._write_text_atomic
    store._write_text_atomic = lambda path, text: (
        park(step) if path.name == "CURRENT" else write_text(path, text)
    )
qa.index.build.build_index([corpus], index=index, store=uri)
print("DONE", flush=True)
"""


def test_sigkill_at_any_step_leaves_the_milvus_index_answering(tmp_path: Path, server: str) -> None:
    index = tmp_path / "index"
    corpus = _corpus(tmp_path / "corpus", 2)
    build_index([corpus], index=index, store=server)
    directory = IndexDirectory(index)
    current = directory.current_name()
    before = _answers(index)
    spec = StoreSpec("milvus", server, directory.read_manifest()["store"]["collection"])
    rows_before = _count_all(spec)
    # The archive loses one article and gains six: the build inserts rows and marks some.
    second = _corpus(corpus, 8)
    (second / "harbour-01.txt").unlink()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    for step in ("inserted", "marked", "switching"):
        process = subprocess.Popen(
            [sys.executable, "-c", _PARKED_BUILD, step, str(index), server, str(second)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(300, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith(f"AT {step}"), (line, process.stderr.read())  # type: ignore[union-attr]
            # The build holds new rows in the collection: queries answer as before.
            assert _count_all(spec) > rows_before, step
            assert _answers(index) == before, f"parked at {step}: answers changed"
            process.kill()
            process.wait()
        finally:
            watchdog.cancel()
            process.kill()
            process.wait()
        assert directory.current_name() == current, step
        assert _answers(index) == before, f"killed at {step}: answers changed"

    report = build_index([second], index=index)  # recovers, then writes generation 2
    assert report.removed == 3 and report.embedded == 18
    assert _answers(index) != before  # the new articles are searched now
    titles = {info.title for info in qa.list_articles(index)}
    assert "Harbour report 7" in titles and "Harbour report 1" not in titles
    # What the killed builds wrote was removed; only generation 2 and its 3 dropped rows stay.
    windows = len(get_windows(index))
    assert _count_all(spec) == windows + 3


def get_windows(index: Path) -> list[str]:
    import numpy as np

    folder = IndexDirectory(index).current_path()
    return [str(uid) for uid in np.load(folder / "windows.npz")["uid"]]


def _count_all(spec: StoreSpec) -> int:
    rows = client_for(spec).query(spec.collection, filter="", output_fields=["count(*)"])
    return int(rows[0]["count(*)"])
