"""A rebuild started from the archive tab, with `byline serve` SIGKILLed mid-way (while it
embeds the uploads, and just before the new version is switched to; FAISS, and Milvus Lite
with its rows of the new generation written): after a restart the chat
answers exactly as before from the last complete index, the archive folder holds every
uploaded file, and the next rebuild from the tab indexes them.

The test makes the browser's own calls (upload, then the tab's button event) over loopback:
bench/ui_calls.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ui_helpers import BRIDGE_QUESTION, REPO, TEST_ENV, free_port, wait_for_http, write_corpus

import qa
from bench.load_client import http_asker
from bench.ui_calls import finish_event, start_event, upload

FERRY_QUESTION = "When does the ferry strike end?"
QUESTIONS = [BRIDGE_QUESTION, FERRY_QUESTION]

# `byline serve` with the build parked at one step: it prints "AT <step>" and waits there to
# be killed. The patches touch only the build; the server is the real one.
_PARKED_SERVER = r"""
import sys, time
import embeddings.store as store
import qa.index.build as build

step = sys.argv.pop(1)


def park():
    print("AT", step, flush=True)
    time.sleep(600)


if step == "embedding":
    make = build.embedder

    def embedder(*args, **kwargs):
        embed = make(*args, **kwargs)

        def first_then_park(texts):
            embed(texts[:1])
            park()

        return first_then_park

    build.embedder = embedder
if step == "switching":  # the version is in versions/, CURRENT still names the old one
    write_text = store._write_text_atomic
    store._write_text_atomic = lambda path, text: (
        park() if path.name == "CURRENT" else write_text(path, text)
    )
from ui.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _serve(index: Path, home: Path, port: int, step: str | None) -> subprocess.Popen[str]:
    env = {**os.environ, **TEST_ENV, "BYLINE_HOME": str(home), "BYLINE_BUILD_NICE": "0"}
    serve = ["serve", "--index", str(index), "--port", str(port)]
    argv = ["-c", _PARKED_SERVER, step, *serve] if step else ["-m", "ui.cli", *serve]
    return subprocess.Popen(
        [sys.executable, *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _answers(url: str) -> dict[str, dict]:
    ask = http_asker(url)
    return {question: ask(question) for question in QUESTIONS}


def _ferry(number: int) -> str:
    return (
        f"Ferry strike ends, update {number}\n\nThe ferry strike ends on Friday after the union "
        f"accepted pay offer number {number} from the harbour company.\n"
    )


def _wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line starting with ``prefix``; the process is killed after
    ``timeout`` seconds (a watchdog, never the expected path)."""
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(prefix):
                return line.strip()
    finally:
        watchdog.cancel()
    raise AssertionError(f"the server exited ({process.poll()}) before printing {prefix!r}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "steps"),
    [("faiss", ("embedding", "switching")), ("milvus", ("switching",))],
    ids=["faiss", "milvus"],
)
def test_server_killed_during_a_ui_rebuild_restarts_on_the_last_complete_index(
    tmp_path: Path, store: str, steps: tuple[str, ...]
) -> None:
    archive = write_corpus(tmp_path / "archive")
    index, home = tmp_path / "index", tmp_path / "home"
    if store == "milvus":
        pytest.importorskip("milvus_lite", reason="the scale extra is not installed")
        # In a process of its own: Milvus Lite lets one process at a time open the file.
        uri = f"milvus://{tmp_path / 'news.db'}"
        command = ["-m", "ui.cli", "build", str(archive), "--index", str(index), "--store", uri]
        env = {**os.environ, **TEST_ENV, "BYLINE_HOME": str(home)}
        subprocess.run([sys.executable, *command], cwd=REPO, env=env, check=True)
    else:
        qa.build_index([archive], index=index)
    current = (index / "CURRENT").read_text()
    before_files = {path.name for path in archive.iterdir()}
    uploaded: dict[str, str] = {}

    for number, step in enumerate(steps, start=1):
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = _serve(index, home, port, step)
        try:
            wait_for_http(url, timeout=120, process=server)
            if number == 1:
                before = _answers(url)
            source = tmp_path / f"ferry-{number}.txt"
            source.write_text(_ferry(number), encoding="utf-8")
            uploaded[source.name] = source.read_text(encoding="utf-8")
            files = upload(url, [source])
            start_event(url, "change_archive", [files, "", ""])
            assert _wait_for_line(server, "AT ", 300) == f"AT {step}"
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
        finally:
            server.kill()
            server.wait()
        assert (index / "CURRENT").read_text() == current, step

        # A plain restart answers from the last complete index, exactly as before.
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = _serve(index, home, port, None)
        try:
            wait_for_http(url, timeout=120, process=server)
            assert _answers(url) == before, f"after the kill at {step}"
            if step == "switching":
                # Every uploaded file is in the archive folder, whole, and nothing else new.
                new = {path.name for path in archive.iterdir()} - before_files
                assert new == set(uploaded), new
                for name, text in uploaded.items():
                    assert (archive / name).read_text(encoding="utf-8") == text, name
                # The tab's button with no new file rebuilds from the archive folder.
                status = finish_event(url, start_event(url, "change_archive", [None, "", ""]))
                assert "Index rebuilt" in str(status[0]), status[0]
                after = _answers(url)
                # BM25's statistics moved with the new articles; what answers stays.
                top = [after[BRIDGE_QUESTION], before[BRIDGE_QUESTION]]
                assert len({(a["passages"][0]["article_id"], a["quote"]) for a in top}) == 1
                cited = after[FERRY_QUESTION]["passages"][0]
                assert "ferry strike ends on Friday" in cited["text"], cited
                assert cited["title"].startswith("Ferry strike ends, update"), cited
        finally:
            server.terminate()
            server.wait(timeout=30)
