"""20 concurrent API clients ask questions while a rebuild runs: no errors, and every answer
comes whole from the old index or whole from the new one."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from ui_helpers import BRIDGE_QUESTION, REPO, TEST_ENV, free_port, wait_for_http, write_corpus

import qa

CLIENTS = 20
QUESTIONS_PER_CLIENT = 3
QUESTIONS = [
    BRIDGE_QUESTION,
    "Who designed the new flood barrier?",
    "When does the ferry strike end?",
]
FERRY = (
    "Ferry strike ends\n\nThe ferry strike ends on Friday after the union accepted a pay offer.\n"
)


def _key(answer: dict) -> list[tuple[str, int]]:
    return [(p["article_id"], p["paragraph"]) for p in answer["passages"]]


@pytest.mark.slow
def test_concurrent_clients_during_rebuild(tmp_path: Path) -> None:
    from gradio_client import Client

    corpus = write_corpus(tmp_path / "archive")
    index = tmp_path / "index"
    qa.build_index([corpus], index=index)
    before = {q: _key(qa.answer(q, index=index).to_dict()) for q in QUESTIONS}

    env = {**os.environ, **TEST_ENV, "BYLINE_HOME": str(tmp_path / "home")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--index", str(index), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, timeout=90, process=server)
        Client(url, verbose=False).predict(BRIDGE_QUESTION, api_name="/ask")  # warm

        results: list[tuple[str, dict, float]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(CLIENTS + 1)

        def client_loop(number: int) -> None:
            client = Client(url, verbose=False)
            start.wait()
            for turn in range(QUESTIONS_PER_CLIENT):
                question = QUESTIONS[(number + turn) % len(QUESTIONS)]
                began = time.perf_counter()
                try:
                    answer = client.predict(question, api_name="/ask")
                except BaseException as error:  # every failure counts, whatever its kind
                    with lock:
                        errors.append(error)
                    continue
                with lock:
                    results.append((question, answer, time.perf_counter() - began))

        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        start.wait()
        (corpus / "ferry.txt").write_text(FERRY, encoding="utf-8")
        rebuild = subprocess.run(
            [sys.executable, "-m", "ui.cli", "build", "--index", str(index), "--wait", "60"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for thread in threads:
            thread.join(timeout=300)
        assert rebuild.returncode == 0, rebuild.stderr
        after = {q: _key(qa.answer(q, index=index).to_dict()) for q in QUESTIONS}
    finally:
        server.terminate()
        server.wait(timeout=20)

    assert errors == []
    assert len(results) == CLIENTS * QUESTIONS_PER_CLIENT
    assert before["When does the ferry strike end?"] != after["When does the ferry strike end?"]
    for question, answer, _ in results:
        assert _key(answer) in (before[question], after[question]), question
    latencies = sorted(seconds for _, _, seconds in results)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"\n{len(results)} answers from {CLIENTS} clients during a rebuild: "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
