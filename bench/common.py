"""Helpers shared by the benchmark scripts: the machine's name, timing, BEIR files, a cache."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO.parent / "shared" / "eval"


def cache_dir() -> Path:
    """Where embeddings computed once are kept between runs ($BYLINE_BENCH_CACHE)."""
    folder = Path(os.environ.get("BYLINE_BENCH_CACHE", "/tmp/byline-bench-cache"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def machine() -> str:
    """'2 cores, AMD EPYC (flags: avx2 ...), torch 2.13.0+cpu, faiss 1.15.1'."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from embeddings.encoder import cpu_flags

    flags = cpu_flags()
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    have = [flag for flag in wanted if flag in flags] or ["none of " + "/".join(wanted)]
    import faiss
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, {model} ({', '.join(have)}), torch {torch.__version__}, "
        f"faiss {faiss.__version__}, load average at start {load:.1f}"
    )


def median_seconds(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls, and the last call's result."""
    times = []
    result = None
    for _ in range(repeats):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def percentiles_ms(samples: Iterable[float]) -> tuple[float, float]:
    values = np.asarray(list(samples), dtype=np.float64) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        next(handle)  # header: query-id corpus-id score
        for line in handle:
            query, doc, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(query, {})[doc] = int(score)
    return qrels


def beir_to_articles(corpus: Path, target: Path, limit: int | None = None) -> int:
    """A BEIR corpus (_id, title, text) as Byline's .jsonl article format (id, title, text)."""
    written = 0
    with corpus.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            if limit is not None and written >= limit:
                break
            record = json.loads(line)
            if not str(record.get("text", "")).strip():
                continue
            article = {
                "id": record["_id"],
                "title": record.get("title", ""),
                "text": record["text"],
            }
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
            written += 1
    return written


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def real_vectors() -> np.ndarray:
    """Real document embeddings cached by bench.quality (SciFact, plus the other sets when
    there), float32 unit rows; embeds SciFact first when the cache is empty."""
    parts = []
    for name in ("scifact", "squad2-dev", "multihop-rag-news"):
        path = cache_dir() / f"{name}-docs-all-float32.npy"
        if path.exists():
            parts.append(np.load(path))
    if not parts:
        from bench.quality import evaluate

        evaluate("scifact", ["float32"], None)
        return real_vectors()
    return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def real_queries() -> np.ndarray:
    """Real query embeddings cached by bench.quality (SciFact claims, news questions)."""
    parts = []
    for name in ("scifact", "multihop-rag-news"):
        path = cache_dir() / f"{name}-queries-float32.npy"
        if path.exists():
            parts.append(np.load(path))
    return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def synthetic(base: np.ndarray, rows: int, noise: float = 0.5, seed: int = 0) -> np.ndarray:
    """``rows`` unit vectors: real ones first, then copies of them plus Gaussian noise of norm
    about ``noise`` (cosine to their source about 1/sqrt(1 + noise**2), 0.89 at 0.5), so that
    neighbours are spread as in a large archive of related articles, not duplicates."""
    rng = np.random.default_rng(seed)
    out = np.empty((rows, base.shape[1]), dtype=np.float32)
    first = min(rows, len(base))
    out[:first] = base[:first]
    scale = np.float32(noise / np.sqrt(base.shape[1]))
    for begin in range(first, rows, 65536):
        end = min(rows, begin + 65536)
        source = base[rng.integers(0, len(base), end - begin)]
        block = source + scale * rng.standard_normal(source.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[begin:end] = block
    return out


def free_port() -> int:
    """A TCP port free on the loopback interface now (for a server a test or bench starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers 200; fails at once if ``process`` (the server) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"no answer from {url} after {timeout:.0f}s")
