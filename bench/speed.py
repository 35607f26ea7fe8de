"""The fast-answer figures, each against its baseline measured in the same run.

    python -m bench.speed                   # all five, filters at 1M passages
    python -m bench.speed --filter-rows 200000 --skip concurrency

1. question encoding p50 on one thread: torch vs ONNX Runtime, same questions interleaved;
2. `byline ask` whole process, median of 3: BYLINE_QUERY_BACKEND=torch vs onnx, on a built
   default archive in a scratch BYLINE_HOME (built and exported before timing: warm);
3. 20 clients x 3 questions against a live `byline serve` on 127.0.0.1 during a full rebuild
   (bench/load_client.py, as tests/test_load.py does): p50 / p95 / errors, main's server
   settings (no batching, rebuild at full priority, Gradio's per-event analytics) vs now;
4. retrieve() dense at N passages with a narrow article or date filter: the old
   paragraph-by-paragraph scan vs the filter cache, against the unfiltered p50;
5. retrieve() hybrid on the default archive with an empty sentence cache for each round
   (the ranking's sentence step embeds the first candidates' sentences): ONNX batches of 32
   texts (the old batching) vs batches bounded by padded word pieces; and the learned
   ranking against the hand-set one it replaced (with and without its sentence step).

Timings on a shared machine are noisy: the ratios, measured side by side, are the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/speed.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    EVAL,
    REPO,
    free_port,
    machine,
    percentiles_ms,
    read_jsonl,
    wait_for_http,
)

QUESTION = "When will Antony Blinken visit China?"
LOAD_QUESTIONS = (
    "When will Antony Blinken visit China?",
    "What did the WHO say about the EG.5 variant?",
    "How fast did Threads reach 100 million users?",
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "BYLINE_HOME": str(home)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _byline(env: dict[str, str], *argv: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ui.cli", *argv], cwd=REPO, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - began


def questions(count: int = 200) -> list[str]:
    found: list[str] = []
    for path in sorted(EVAL.glob("*/queries.jsonl")):
        found += [row["text"] for row in read_jsonl(path)][: count // 3 + 1]
    return found[:count] or list(LOAD_QUESTIONS) * 10


def encoding(home: Path) -> dict[str, Any]:
    """Query encoding, torch vs ONNX, one thread, in one process, questions interleaved."""
    import torch

    from embeddings.encoder import load_encoder
    from embeddings.onnx_encoder import load_query_encoder

    torch.set_num_threads(1)
    torch_encoder = load_encoder()
    onnx_encoder = load_query_encoder(None, backend="onnx", models_dir=home / "models")
    asked = questions()
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    cosines = []
    for question in asked:
        vectors = {}
        for name, encoder in (("torch", torch_encoder), ("onnx", onnx_encoder)):
            began = time.perf_counter()
            vectors[name] = encoder.encode_query(question)
            times[name].append(time.perf_counter() - began)
        cosines.append(float(vectors["torch"] @ vectors["onnx"]))
    result: dict[str, Any] = {"questions": len(asked), "min_cosine": min(cosines)}
    for name, samples in times.items():
        result[f"{name}_p50"], result[f"{name}_p95"] = percentiles_ms(samples)
    return result


def ask(home: Path, repeats: int = 3) -> dict[str, Any]:
    """`byline ask` whole-process seconds, torch path vs ONNX path, alternating."""
    runs: dict[str, list[float]] = {"torch": [], "onnx": []}
    for attempt in range(repeats):
        for backend in ("torch", "onnx") if attempt % 2 == 0 else ("onnx", "torch"):
            env = _env(home, BYLINE_QUERY_BACKEND=backend)
            runs[backend].append(_byline(env, "ask", QUESTION))
    return {f"{name}_median_s": statistics.median(v) for name, v in runs.items()} | {
        "runs": {name: [round(s, 2) for s in v] for name, v in runs.items()}
    }


# The server as it was before the batching and priority changes, for the baseline column.
BASELINE_SERVER = {
    "BYLINE_BATCH_MS": "0",
    "BYLINE_BUILD_NICE": "0",
    "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1",
    "GRADIO_ANALYTICS_MAX_EVENTS": "10000",
}


def load(
    home: Path,
    limit: int,
    server_env: dict[str, str],
    *,
    kind: str = "http",
    clients: int = 20,
    turns: int = 3,
    served_before: int = 300,
) -> dict[str, Any]:
    """``clients`` users asking ``turns`` questions each, all at once, while a full rebuild of
    the same index runs (from when it takes the index lock), against a server that has
    already answered ``served_before`` questions one at a time (a server that has been up)."""
    from bench.load_client import http_asker, run_clients, wait_for_build

    port = free_port()
    env = _env(home, **server_env)
    command = [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--concurrency", str(limit)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rebuild: subprocess.Popen[bytes] | None = None
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, 120, server)
        ask = http_asker(url)
        for number in range(max(1, served_before)):
            ask(LOAD_QUESTIONS[number % len(LOAD_QUESTIONS)])
        load_start = os.getloadavg()[0]
        rebuild = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "build", "--full", "--wait", "120"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        building = rebuild
        waited = wait_for_build(home / "index", lambda: building.poll() is None)
        result = run_clients(url, LOAD_QUESTIONS, clients=clients, turns=turns, kind=kind)
        rebuild_running = rebuild.poll() is None
        rebuild.wait(timeout=300)
    finally:
        if rebuild is not None and rebuild.poll() is None:
            rebuild.kill()
        server.terminate()
        server.wait(timeout=30)
    return {
        "limit": limit,
        "kind": kind,
        "p50": result.percentile_ms(0.5),
        "p95": result.percentile_ms(0.95),
        "answers": len(result.answers),
        "errors": len(result.errors),
        "error_examples": result.errors[:3],
        "latencies_ms": [round(seconds * 1000, 1) for seconds in result.latencies],
        "wall_s": result.wall_s,
        "rebuild_started_s": waited,
        "rebuild_running_at_end": rebuild_running,
        "rebuild_exit": rebuild.returncode if rebuild is not None else None,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }


def concurrency(home: Path, limit: int) -> dict[str, Any]:
    """Baseline server vs this one, both during a rebuild, in the order A B B A (so that a
    change in the machine's other load falls on both), with the light HTTP clients; then one
    run each with gradio_client's clients, which share the cores with the server."""
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "now": []}
    for name in ("baseline", "now", "now", "baseline"):
        env = BASELINE_SERVER if name == "baseline" else {}
        runs[name].append(load(home, limit, env))
        print(f"load {name}: {runs[name][-1]}", file=sys.stderr, flush=True)
    heavy = {
        name: load(home, limit, BASELINE_SERVER if name == "baseline" else {}, kind="gradio_client")
        for name in ("baseline", "now")
    }
    print(f"load gradio_client: {heavy}", file=sys.stderr, flush=True)
    pooled = {name: _pooled(found) for name, found in runs.items()}
    return {"http": pooled, "http_runs": runs, "gradio_client": heavy}


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one server as one sample: percentiles over all their answers."""
    from bench.load_client import nearest_rank

    latencies = sorted(ms for run in runs for ms in run["latencies_ms"])
    return {
        "p50": nearest_rank(latencies, 0.5),
        "p95": nearest_rank(latencies, 0.95),
        "answers": len(latencies),
        "errors": sum(run["errors"] for run in runs),
        "runs": len(runs),
        "rebuild_overlap": all(run["rebuild_running_at_end"] for run in runs),
        "load": [round(run[key], 2) for run in runs for key in ("load_start", "load_end")],
    }


def filters(rows: int) -> dict[str, Any]:
    """Run bench.filter_worker in a fresh process (it holds ``rows`` vectors)."""
    command = [sys.executable, "-m", "bench.filter_worker", str(rows)]
    done = subprocess.run(
        command, cwd=REPO, env=_env(Path(tempfile.gettempdir())), text=True, capture_output=True
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"filter worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def sentences(home: Path, rounds: int = 6) -> dict[str, Any]:
    """retrieve() p50 on the default archive, a cold sentence cache each round, four ways
    interleaved in one process: the learned ranking (qa.rank.learned) with the old batching
    and with now's, the hand-set ranking it replaced, and that without its sentence step."""
    os.environ["BYLINE_HOME"] = str(home)
    import qa.rank.highlight
    import qa.search.query
    import qa.search.retrieval

    retriever = qa.search.query.get_retriever()
    learned = retriever.ranker
    onnx: Any = getattr(retriever.encoder, "inner", retriever.encoder)
    now_budget = getattr(onnx, "padded_tokens", None)
    keep_order = qa.search.retrieval.answer_first
    ways: dict[str, tuple[int | None, Any, Any]] = {
        "batches_of_32": (10**9, learned, keep_order),
        "padded_tokens": (now_budget, learned, keep_order),
        "hand_set": (now_budget, None, keep_order),
        "no_sentence_step": (now_budget, None, lambda items, evidence, article_of: list(items)),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for _ in range(rounds):
            for name, (budget, ranker, reorder) in ways.items():
                if budget is not None:
                    onnx.padded_tokens = budget
                retriever.ranker = ranker
                qa.search.retrieval.answer_first = reorder
                qa.rank.highlight._cache = qa.rank.highlight._SentenceCache()
                for question in (*LOAD_QUESTIONS, *SENTENCE_QUESTIONS):
                    began = time.perf_counter()
                    retriever.retrieve(question, 5)
                    times[name].append(time.perf_counter() - began)
    finally:
        qa.search.retrieval.answer_first = keep_order
        retriever.ranker = learned
        if now_budget is not None:
            onnx.padded_tokens = now_budget
    return {"backend": type(onnx).__name__, "load": round(os.getloadavg()[0], 1)} | {
        f"{name}_p50": percentiles_ms(samples)[0] for name, samples in times.items()
    }


SENTENCE_QUESTIONS = (
    "Why did the ruble fall?",
    "Who held an eight hour meeting in Vienna?",
    "What may Japan do with the Fukushima water?",
)


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}; load average at end {results['load_end']:.2f}",
        "",
        "| measure | baseline | now | ratio |",
        "|---|---|---|---|",
    ]
    if "encoding" in results:
        e = results["encoding"]
        lines.append(
            f"| question encoding p50 / p95 ms, 1 thread ({e['questions']} questions; "
            f"min cosine {e['min_cosine']:.5f}) | torch {e['torch_p50']:.1f} / "
            f"{e['torch_p95']:.1f} | ONNX {e['onnx_p50']:.1f} / {e['onnx_p95']:.1f} | "
            f"{e['torch_p50'] / e['onnx_p50']:.1f}x |"
        )
    if "ask" in results:
        a = results["ask"]
        lines.append(
            f"| `byline ask` whole process, median of 3, s | torch {a['torch_median_s']:.2f} | "
            f"ONNX {a['onnx_median_s']:.2f} | {a['torch_median_s'] / a['onnx_median_s']:.1f}x |"
        )
    if "concurrency" in results:
        c = results["concurrency"]
        old, new = c["http"]["baseline"], c["http"]["now"]
        lines.append(
            f"| 20 clients x 3 questions on /ask (HTTP clients) during a full rebuild, p50 / "
            f"p95 ms (errors), {old['runs']} + {new['runs']} runs ABBA, load {old['load']} / "
            f"{new['load']} | main's server: {old['p50']:.0f} / {old['p95']:.0f} "
            f"({old['errors']}) | batching, nice build, Gradio analytics rarer: "
            f"{new['p50']:.0f} / {new['p95']:.0f} ({new['errors']}) | "
            f"{old['p95'] / new['p95']:.1f}x at p95 |"
        )
        old, new = c["gradio_client"]["baseline"], c["gradio_client"]["now"]
        lines.append(
            f"| the same with 20 gradio_client clients on the same cores, p50 / p95 ms (errors)"
            f" | {old['p50']:.0f} / {old['p95']:.0f} ({old['errors']}) | {new['p50']:.0f} / "
            f"{new['p95']:.0f} ({new['errors']}) | {old['p95'] / new['p95']:.1f}x at p95 |"
        )
    if "sentences" in results:
        n = results["sentences"]
        lines.append(
            f"| retrieve() hybrid, default archive, empty sentence cache, p50 ms ({n['backend']}"
            f"; without the sentence step {n['no_sentence_step_p50']:.1f}) | batches of 32 "
            f"{n['batches_of_32_p50']:.1f} | bounded padding {n['padded_tokens_p50']:.1f} | "
            f"{n['batches_of_32_p50'] / n['padded_tokens_p50']:.1f}x |"
        )
        lines.append(
            f"| retrieve() hybrid as above, learned ranking vs the hand-set one it replaced, "
            f"p50 ms | hand-set {n['hand_set_p50']:.1f} | learned {n['padded_tokens_p50']:.1f}"
            f" | {n['padded_tokens_p50'] / n['hand_set_p50']:.2f}x the hand-set time |"
        )
    if "filters" in results:
        f = results["filters"]
        for name in ("article", "date"):
            lines.append(
                f"| dense retrieve() at {f['rows']:,} passages ({f['kind']}), {name} filter "
                f"({f[name + '_allowed']:,} paragraphs) p50 ms; "
                f"unfiltered {f['unfiltered_p50']:.1f}"
                f" | scan {f[name + '_scan_p50']:.1f} | cache {f[name + '_p50']:.1f} "
                f"({f[name + '_p50'] / f['unfiltered_p50']:.2f}x unfiltered) | "
                f"{f[name + '_scan_p50'] / f[name + '_p50']:.0f}x |"
            )
    return "\n".join(lines)


def run(skip: Sequence[str], filter_rows: int, limit: int) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="byline-speed-") as scratch:
        home = Path(scratch) / "home"
        # Builds the default archive and makes the ONNX export: every figure then is warm.
        _byline(_env(home), "ask", QUESTION)
        if "ask" not in skip:
            results["ask"] = ask(home)
            print(f"ask: {results['ask']}", file=sys.stderr, flush=True)
        if "encoding" not in skip:
            results["encoding"] = encoding(home)
            print(f"encoding: {results['encoding']}", file=sys.stderr, flush=True)
        if "sentences" not in skip:
            results["sentences"] = sentences(home)
            print(f"sentences: {results['sentences']}", file=sys.stderr, flush=True)
        if "concurrency" not in skip:
            results["concurrency"] = concurrency(home, limit)
            print(f"concurrency: {results['concurrency']}", file=sys.stderr, flush=True)
    if "filters" not in skip:
        results["filters"] = filters(filter_rows)
    results["load_end"] = os.getloadavg()[0]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["encoding", "ask", "sentences", "concurrency", "filters"],
        help="figures to leave out, e.g. --skip filters",
    )
    parser.add_argument(
        "--filter-rows", type=int, default=1_000_000, help="passages for the filter figure"
    )
    parser.add_argument("--limit", type=int, default=4, help="the server's concurrency limit")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    results = run(args.skip, args.filter_rows, args.limit)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
