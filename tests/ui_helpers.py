"""Shared setup for the UI tests: a tiny corpus, its index, and a live `byline serve`.

Building the index and starting the server cost seconds (the model loads), so each is done
once per test process and shared by the app and browser tests; files live in a temporary
folder removed at exit.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The UI tests take both from here; the benchmark starts its servers the same way.
from bench.common import free_port as free_port
from bench.common import wait_for_http as wait_for_http

REPO = Path(__file__).resolve().parents[1]

NEWS_TXT = """Harbour bridge reopens after repairs | bridge | city

Release time:Mar 5, 2024 10:00 AM

The Harbour Bridge reopened to traffic on Monday after eight months of repairs. Engineers \
replaced the steel cables and repainted the main span.

The city council said the repairs cost 40 million dollars, paid from the transport budget.

Traffic

Commuters welcomed the reopening, which cuts the morning drive by twenty minutes.

Library opens new wing for children | library

Release time:Jun 1, 2024 09:00 AM

The central library opened a new wing for children on Saturday, with two thousand picture \
books and a reading garden.

The mayor said the wing was funded by a local bakery owner who donated her savings.
"""

# Every field a reader sees carries markup that must show as text and never run.
HOSTILE_MD = """# Volcano <script>window.__bylinePwned = 1</script> eruption warning

## Alerts <img src=x onerror="window.__bylinePwned = 2">

Release time: 2024-07-09

Scientists warned that the volcano <script>window.__bylinePwned = 3</script> could erupt \
within days <img src=x onerror="window.__bylinePwned = 4"> and villagers were told to leave.

Ash clouds from the volcano may close the island airport for a week.
"""

# A saved web page: markup written as text (entities) must show as text; real <script> and
# <img onerror> tags are dropped by the extractor and must never reach the page either.
HOSTILE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Glacier &lt;script&gt;window.__bylinePwned = 5&lt;/script&gt; retreat measured</title>
<meta property="article:published_time" content="2024-10-20T09:00:00Z">
<script>window.__bylinePwned = 6</script>
</head><body>
<nav><a href="/">Home</a> <a href="javascript:window.__bylinePwned = 7">Weather</a></nav>
<article><h1>Glacier &lt;script&gt;window.__bylinePwned = 5&lt;/script&gt; retreat measured</h1>
<p>Surveyors measured that the mountain glacier &lt;img src=x onerror="window.__bylinePwned = 8"&gt;
retreated by ninety metres this summer, the fastest retreat since records began.</p>
<p>The glacier <img src=x onerror="window.__bylinePwned = 9"> now ends above the old hut,
and hikers are warned <script>window.__bylinePwned = 10</script> to keep to the marked path.</p>
</article></body></html>
"""

# A long article whose cited paragraph is far below the top of the article panel.
FLOODS_TXT = (
    "River floods report | weather\n\nRelease time:Sep 2, 2024 08:00 AM\n\n"
    + "".join(
        f"On day {day} of the flood the river stood {day * 3} centimetres above normal at gauge "
        f"station number {day}, and volunteers filled {day * 40} sandbags.\n\n"
        for day in range(1, 31)
    )
    + "The new flood barrier was designed by the engineer Mara Quist of Delft.\n"
)

HOSTILE_QUESTION = "Could the volcano erupt within days?"
HOSTILE_PAGE_QUESTION = "How far did the mountain glacier retreat this summer?"
DEEP_QUESTION = "Who designed the new flood barrier?"
BRIDGE_QUESTION = "When did the Harbour Bridge reopen?"

TEST_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


@dataclass(frozen=True)
class Built:
    home: Path  # BYLINE_HOME, so nothing touches the real per-user folders
    corpus: Path
    index: Path


def _tmp(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "news.txt").write_text(NEWS_TXT, encoding="utf-8")
    (folder / "volcano.md").write_text(HOSTILE_MD, encoding="utf-8")
    (folder / "floods.txt").write_text(FLOODS_TXT, encoding="utf-8")
    (folder / "glacier.html").write_text(HOSTILE_HTML, encoding="utf-8")
    return folder


def build(root: Path) -> Built:
    """A corpus and its index under ``root`` (built in this process, so the model stays
    loaded for the tests that follow)."""
    import qa

    os.environ.update(TEST_ENV)
    os.environ["BYLINE_HOME"] = str(root / "home")
    corpus = write_corpus(root / "archive")
    index = root / "index"
    qa.build_index([corpus], index=index)
    return Built(root / "home", corpus, index)


@functools.cache
def shared_index() -> Built:
    """One index for every read-only test in the process."""
    return build(_tmp("byline-ui-"))


_server_failure: list[BaseException] = []


def shared_server() -> str:
    """`byline serve --index DIR --port P` in a subprocess, exactly as a user starts it.

    A failure to start is remembered, so the tests after the first fail at once with the
    same message instead of each waiting for a server again."""
    if _server_failure:
        raise RuntimeError("byline serve failed to start earlier") from _server_failure[0]
    try:
        return _start_server()
    except BaseException as error:
        _server_failure.append(error)
        raise


@functools.cache
def _start_server() -> str:
    built = shared_index()
    port = free_port()
    log = open(built.home.parent / "serve.log", "wb")  # closed by stop() at exit
    env = {**os.environ, **TEST_ENV, "BYLINE_HOME": str(built.home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--index", str(built.index), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    atexit.register(stop)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, timeout=90, process=process)
    except Exception as error:
        log.flush()
        output = (built.home.parent / "serve.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"byline serve did not start: {error}\n{output}") from error
    _warm(url)
    return url


def _warm(url: str) -> None:
    """One question first, so timings measure answering rather than loading the model."""
    from gradio_client import Client

    Client(url, verbose=False).predict(BRIDGE_QUESTION, api_name="/ask")
