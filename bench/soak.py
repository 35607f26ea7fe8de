"""Hours of use in minutes: a live `byline serve` on 127.0.0.1 answers a stream of distinct
questions (the shared sets' queries, read at run time) while files are uploaded through the
archive tab and the archive is rebuilt once, and the server's resident memory is sampled.

    python -m bench.soak                              # 5,000 questions, at most 20 minutes
    python -m bench.soak --questions 2000 --minutes 8 --uploads 2

Printed: memory at start (server ready), after warm-up (the first ``--warmup`` questions,
the first upload and its rebuild included), after each 1,000 and at the end; p50 / p95
latency and errors per 1,000; the growth from warm-up to the end. The goal (issue #21):
memory flat within 15 % after warm-up, no errors, p95 not rising. Bounded in count
(``--questions``) and time (``--minutes``); loopback only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/soak.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import EVAL, REPO, beir_to_articles, free_port, read_jsonl, wait_for_http
from bench.load_client import http_asker, nearest_rank
from bench.ui_calls import finish_event, start_event, upload

SETS = ("realtimeqa-2020-2022", "squad2-dev", "multihop-rag-news", "scifact", "news-archive-2022")
BLOCK = 1000


def distinct_questions(sets: tuple[str, ...], limit: int) -> list[str]:
    """Up to ``limit`` distinct query texts, taken in turn from each set (so every block
    mixes news, general and science questions)."""
    per_set = [
        [str(row["text"]).strip() for row in read_jsonl(EVAL / name / "queries.jsonl")]
        for name in sets
    ]
    seen: dict[str, None] = {}
    for turn in range(max(map(len, per_set), default=0)):
        for texts in per_set:
            if turn < len(texts) and texts[turn]:
                seen.setdefault(texts[turn], None)
    return list(seen)[:limit]


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Run:
    """What the clients, the uploader and the sampler record, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[int, float] = field(default_factory=dict)  # question number -> seconds
    errors: dict[int, str] = field(default_factory=dict)
    done: int = 0
    rss_at: dict[str, float] = field(default_factory=dict)
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (s, done, MiB)
    events: list[str] = field(default_factory=list)


def _build_index(work: Path, articles: int) -> tuple[Path, Path]:
    archive, index = work / "archive", work / "index"
    if (index / "CURRENT").is_file():
        return archive, index
    archive.mkdir(parents=True, exist_ok=True)
    corpus = EVAL / "realtimeqa-2020-2022" / "corpus.jsonl"
    written = beir_to_articles(corpus, archive / "realtimeqa.jsonl", limit=articles)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ui.cli", "build", str(archive), "--index", str(index)],
        cwd=REPO,
        env=_env(work),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"built the index of {written} articles in {time.perf_counter() - began:.0f} s")
    return archive, index


def _env(work: Path) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.update({"BYLINE_HOME": str(work / "home"), "TOKENIZERS_PARALLELISM": "false"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _article(number: int) -> str:
    return (
        f"Harbour report {number}\n\nThe harbour board met for session {number} and voted "
        f"on storm repairs to quay {number}, costing {number * 13} thousand euros.\n"
    )


def _uploader(
    url: str, work: Path, at: list[tuple[int, float]], run: Run, stop: threading.Event
) -> None:
    """At each (question count, or monotonic time if that comes first) in ``at``, one file
    through the archive tab (which rebuilds); the last is the rebuild with no new file (the
    tab's button alone)."""
    for number, (when, latest) in enumerate(at, start=1):
        while run.done < when and time.monotonic() < latest and not stop.is_set():
            time.sleep(0.2)
        if stop.is_set():
            return
        began = time.perf_counter()
        try:
            if number < len(at):
                source = work / f"harbour-{number}.txt"
                source.write_text(_article(number), encoding="utf-8")
                data: list[Any] = [upload(url, [source]), "", ""]
                what = f"upload {source.name}"
            else:
                data, what = [None, "", ""], "rebuild (no new file)"
            status = str(finish_event(url, start_event(url, "change_archive", data))[0])
            if "Index rebuilt" not in status:
                raise RuntimeError(status[:300])
            took = time.perf_counter() - began
            with run.lock:
                run.events.append(f"{what} at question {when}: rebuilt in {took:.1f} s")
        except Exception as error:  # every failure counts
            with run.lock:
                run.errors[-number] = f"{what}: {error!r}"[:300]


def _client(
    url: str,
    questions: list[str],
    next_number: Any,
    run: Run,
    stop: threading.Event,
    deadline: float,
) -> None:
    ask = http_asker(url)
    while not stop.is_set() and time.monotonic() < deadline:
        number = next_number()
        if number >= len(questions):
            return
        began = time.perf_counter()
        try:
            ask(questions[number])
            error = None
        except Exception as failure:  # every failure counts, whatever its kind
            error = repr(failure)[:300]
            ask = http_asker(url)  # a broken connection is not reused
        with run.lock:
            if error is None:
                run.latencies[number] = time.perf_counter() - began
            else:
                run.errors[number] = error
            run.done += 1


def _sampler(pid: int, run: Run, stop: threading.Event, warmup: int, began: float) -> None:
    # A list, not a dict: the warm-up's count is usually a block's end too.
    marks = [(warmup, "after warm-up"), *((n, f"after {n:,}") for n in range(BLOCK, 10**6, BLOCK))]
    while not stop.is_set():
        try:
            rss = rss_mib(pid)
        except (OSError, RuntimeError):
            return
        with run.lock:
            run.samples.append((time.perf_counter() - began, run.done, rss))
            for count, label in marks:
                if run.done >= count and label not in run.rss_at:
                    run.rss_at[label] = rss
        stop.wait(0.5)


def soak(args: argparse.Namespace) -> int:
    from bench.common import machine

    at_start = machine()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="byline-soak-"))
    _, index = _build_index(work, args.articles)
    questions = distinct_questions(SETS, args.questions)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--index", str(index), "--port", str(port)],
        cwd=REPO,
        env=_env(work),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    run = Run()
    try:
        wait_for_http(url, timeout=180, process=server)  # type: ignore[arg-type]
        http_asker(url)("warm the model up")  # loads the index: the start is a ready server
        run.rss_at["start"] = rss_mib(server.pid)
        # Spread over the run by count, or by time where the time cap comes first; the first
        # upload (the first rebuild loads the document encoder) is part of warm-up.
        share = [n / (args.uploads + 2) for n in range(1, args.uploads + 2)]
        start = time.monotonic()
        uploads = [(int(len(questions) * f), start + args.minutes * 60 * f) for f in share]
        if uploads:
            uploads[0] = (min(uploads[0][0], args.warmup // 2), uploads[0][1])
        counter = iter(range(10**9))
        take_lock = threading.Lock()

        def next_number() -> int:
            with take_lock:
                return next(counter)

        stop = threading.Event()
        began = time.perf_counter()
        deadline = time.monotonic() + args.minutes * 60
        threads = [
            threading.Thread(target=_sampler, args=(server.pid, run, stop, args.warmup, began)),
            threading.Thread(target=_uploader, args=(url, work, uploads, run, stop)),
        ]
        clients = [
            threading.Thread(
                target=_client, args=(url, questions, next_number, run, stop, deadline)
            )
            for _ in range(args.clients)
        ]
        for thread in threads + clients:
            thread.start()
        for thread in clients:
            thread.join()
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
        wall = time.perf_counter() - began
        run.rss_at["end"] = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    _report(run, questions, wall, args, at_start)
    return 0


def _report(
    run: Run, questions: list[str], wall: float, args: argparse.Namespace, machine: str
) -> None:
    print(f"machine: {machine}; load average at the end {os.getloadavg()[0]:.1f}")
    print(
        f"{run.done:,} of {len(questions):,} distinct questions in {wall / 60:.1f} min "
        f"({run.done / wall:.1f}/s) with {args.clients} clients; errors: {len(run.errors)}"
    )
    for event in run.events:
        print("  " + event)
    for number, error in sorted(run.errors.items())[:10]:
        print(f"  error at {number}: {error}")
    print(f"{'questions':>14} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'RSS MiB at end':>15}")
    ends = {label: rss for label, rss in run.rss_at.items()}
    for start in range(0, run.done, BLOCK):
        block = sorted(s for n, s in run.latencies.items() if start <= n < start + BLOCK)
        errors = sum(1 for n in run.errors if start <= n < start + BLOCK)
        end = min(start + BLOCK, run.done)
        rss = ends.get(f"after {end:,}", ends["end"])
        print(
            f"{start + 1:>6}-{end:<7} {nearest_rank(block, 0.5) * 1000:>8.0f} "
            f"{nearest_rank(block, 0.95) * 1000:>8.0f} {errors:>7} {rss:>15.0f}"
        )
    warm = ends.get("after warm-up", ends["end"])
    after = [rss for _, done, rss in run.samples if done >= args.warmup]
    peak = max(after, default=warm)
    print(
        f"RSS: start {ends['start']:.0f} MiB, after warm-up ({args.warmup:,}) {warm:.0f} MiB, "
        f"end {ends['end']:.0f} MiB; end vs warm-up {100 * (ends['end'] / warm - 1):+.1f} %, "
        f"peak after warm-up {peak:.0f} MiB ({100 * (peak / warm - 1):+.1f} %)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=5000, help="distinct questions, e.g. 5000")
    parser.add_argument("--minutes", type=float, default=20, help="stop asking after, e.g. 20")
    parser.add_argument("--clients", type=int, default=2, help="clients asking at once, e.g. 2")
    parser.add_argument(
        "--uploads",
        type=int,
        default=3,
        help="files uploaded through the archive tab (each rebuilds), e.g. 3",
    )
    parser.add_argument("--warmup", type=int, default=1000, help="questions of warm-up, e.g. 1000")
    parser.add_argument(
        "--articles", type=int, default=1000, help="RealTimeQA articles in the archive, e.g. 1000"
    )
    parser.add_argument(
        "--work",
        help="folder for the archive, index and server log "
        "(kept; an index there is reused), e.g. /tmp/soak",
    )
    args = parser.parse_args(argv)
    if args.questions < 1 or args.minutes <= 0 or args.clients < 1 or args.uploads < 0:
        parser.error("--questions, --minutes and --clients must be positive, --uploads >= 0")
    return soak(args)


if __name__ == "__main__":
    raise SystemExit(main())
