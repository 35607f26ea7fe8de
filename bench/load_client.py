"""Many clients asking a running `byline serve` at once, for the load test and bench.speed.

Two kinds of client:

- ``http``: Gradio's documented HTTP API (``POST /gradio_api/call/ask``, then the result
  from ``GET /gradio_api/call/ask/EVENT_ID``), over the standard library: a client costs the
  machine next to nothing, as clients on other computers would;
- ``gradio_client``: the `gradio_client` package, as docs/chat.md shows. Each of its clients
  runs threads and an event stream of its own; on the 2-core machine of docs/speed.md, 20 of them
  took 7 s of CPU to ask 60 questions that took the server 1.3 s, so they measure mostly
  themselves when run beside the server.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CLIENT_KINDS = ("http", "gradio_client")


def ask_http(connection: http.client.HTTPConnection, question: str) -> dict[str, Any]:
    """One /ask call on an open connection; the answer dict, or RuntimeError with the reply."""
    body = json.dumps({"data": [question]})
    connection.request("POST", "/gradio_api/call/ask", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    text = reply.read().decode("utf-8", "replace")
    if reply.status != 200:
        raise RuntimeError(f"POST /gradio_api/call/ask answered {reply.status}: {text[:200]}")
    event_id = json.loads(text)["event_id"]
    connection.request("GET", f"/gradio_api/call/ask/{event_id}")
    reply = connection.getresponse()
    stream = reply.read().decode("utf-8", "replace")
    # Server-sent events: "event: complete\ndata: [answer]" (or "event: error"), after a
    # "heartbeat" every 15 s while the answer is not ready (a loaded machine).
    for block in stream.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.strip().splitlines() if ": " in line)
        if fields.get("event") == "heartbeat":
            continue
        if fields.get("event") != "complete" or "data" not in fields:
            break
        (answer,) = json.loads(fields["data"])
        return dict(answer)
    raise RuntimeError(f"/ask failed: {stream[:200]!r}")


def http_asker(url: str) -> Callable[[str], dict[str, Any]]:
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    return lambda question: ask_http(connection, question)


def _gradio_asker(url: str) -> Callable[[str], dict[str, Any]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    return lambda question: dict(client.predict(question, api_name="/ask"))


@dataclass
class LoadResult:
    answers: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return sorted(seconds for _, _, seconds in self.answers)

    def percentile_ms(self, share: float) -> float:
        """The nearest-rank percentile in ms (``share`` 0.5 for p50, 0.95 for p95)."""
        return nearest_rank(self.latencies, share) * 1000


def nearest_rank(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (NaN for none): p95 of 60 answers is the
    57th, so three answers may be slower."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered)))) - 1]


def run_clients(
    url: str,
    questions: Sequence[str],
    *,
    clients: int = 20,
    turns: int = 3,
    kind: str = "http",
    started: Callable[[], None] | None = None,
) -> LoadResult:
    """``clients`` clients, each asking ``turns`` questions one after another, all starting
    together; ``started`` runs once every client is connected, just before they ask."""
    if kind not in CLIENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CLIENT_KINDS)}, got {kind!r}")
    connect = http_asker if kind == "http" else _gradio_asker
    result = LoadResult()
    lock = threading.Lock()
    gate = threading.Barrier(clients + 1)

    def client_loop(number: int) -> None:
        try:
            ask = connect(url)
        finally:
            gate.wait()
        for turn in range(turns):
            question = questions[(number + turn) % len(questions)]
            began = time.perf_counter()
            try:
                answer = ask(question)
            except Exception as error:  # every failure counts, whatever its kind
                with lock:
                    result.errors.append(repr(error)[:300])
                continue
            with lock:
                result.answers.append((question, answer, time.perf_counter() - began))

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    if started is not None:
        started()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    result.wall_s = time.perf_counter() - began
    return result


def build_lock_held(index: Path) -> bool:
    """Whether a build holds ``index``'s writer lock now (probed without waiting)."""
    from filelock import FileLock, Timeout

    from embeddings.store import LOCK_FILE

    lock = FileLock(str(index / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def wait_for_build(index: Path, running: Callable[[], bool], timeout: float = 120) -> float:
    """Seconds until a build started elsewhere holds the lock; RuntimeError if it ends or
    ``timeout`` passes first (``running``: whether its process is still alive)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if build_lock_held(index):
            return time.monotonic() - began
        if not running():
            raise RuntimeError("the rebuild ended before it took the index lock")
        time.sleep(0.02)
    raise RuntimeError(f"the rebuild did not take the lock of {index} within {timeout:.0f} s")
