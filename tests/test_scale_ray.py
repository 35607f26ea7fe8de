"""Embedding on a local Ray (``--workers ray``) with the real model: the same vectors and the
same passages as the in-process build, into FAISS or Milvus; a worker that dies is retried.

Skipped only where the scale extra is not installed (scripts/test.sh installs it)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip(
    "ray", reason="the scale extra is not installed: pip install -e '.[scale]'"
)

from conftest import SEED_CORPUS  # noqa: E402

import qa  # noqa: E402
from embeddings import ray_embed  # noqa: E402
from embeddings.encoder import load_encoder  # noqa: E402
from embeddings.index import VectorIndex  # noqa: E402
from embeddings.store import IndexDirectory  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.index.build import build_index  # noqa: E402

QUESTIONS = ["When will Blinken visit China?", "How much did the ruble fall?", "interest rates"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray for the module (starting one takes seconds); builds join it."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}},
    )
    yield
    ray.shutdown()


def _vectors(index: Path) -> np.ndarray:
    return VectorIndex.load(IndexDirectory(index).current_path(), 384).vectors()


def test_ray_build_gives_the_in_process_vectors_and_passages(
    tmp_path: Path, seed_index: Path, local_ray: None
) -> None:
    index = tmp_path / "index"
    report = build_index([SEED_CORPUS], index=index, workers="ray:2")
    assert report.embedded == len(_vectors(seed_index))
    # Not bit-equal: the model's kernels round differently with the batch's shape, which
    # in-process batching changes too (batches of 8 vs 38 differ by up to 1.2e-3 here).
    ray_vectors, reference = _vectors(index), _vectors(seed_index)
    assert np.abs(ray_vectors - reference).max() < 5e-3
    assert (ray_vectors * reference).sum(axis=1).min() > 0.9999
    for question in QUESTIONS:
        expected = [(p.article_id, p.paragraph) for p in qa.retrieve(question, index=seed_index)]
        assert [(p.article_id, p.paragraph) for p in qa.retrieve(question, index=index)] == expected


def test_ray_build_into_milvus(tmp_path: Path, seed_index: Path, local_ray: None) -> None:
    pytest.importorskip("milvus_lite", reason="the scale extra is not installed")
    index = tmp_path / "index"
    store = f"milvus://{tmp_path / 'r.db'}"
    assert main(["build", str(SEED_CORPUS), "--index", str(index), "--store", store,
                 "--workers", "ray:1", "--json"]) == 0  # fmt: skip
    for question in QUESTIONS:
        expected = [(p.article_id, p.paragraph) for p in qa.retrieve(question, index=seed_index)]
        assert [(p.article_id, p.paragraph) for p in qa.retrieve(question, index=index)] == expected


class _DiesOnce(ray_embed._Embedder):
    """A worker that dies (the process exits) on its first batch while the marker exists."""

    marker = ""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if os.path.exists(self.marker):
            os.unlink(self.marker)
            os._exit(1)
        return super().__call__(batch)


def test_a_worker_that_dies_is_retried_and_the_vectors_are_whole(
    tmp_path: Path, local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "die-once"
    marker.write_text("x")
    dies = type("DiesOnce", (_DiesOnce,), {"marker": str(marker)})
    # Ray pickles classes by reference; this test module is not importable in a worker.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ray_embed, "_Embedder", dies)
    texts = [f"Paragraph {n} about the harbour, storm number {n % 7}." for n in range(300)]
    encoder = load_encoder()
    vectors = ray_embed.encode_on_ray(
        texts,
        ray_embed.RayWorkers(None, 2),
        model=encoder.model_id,
        device="cpu",
        precision=encoder.precision,
        batch_size=encoder.batch_size,
        dimension=encoder.dimension,
    )
    assert not marker.exists(), "no worker died: the test did not test a retry"
    reference = encoder.encode(texts)
    assert np.abs(vectors - reference).max() < 5e-3  # batch-shape rounding, as above
    assert (vectors * reference).sum(axis=1).min() > 0.9999


def test_bad_workers_settings_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["build", str(SEED_CORPUS), "--workers", "spark"]) == 2
    assert "use ray (a local Ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    index = tmp_path / "index"
    assert main(["build", str(SEED_CORPUS), "--index", str(index), "--workers", "ray"]) == 1
    err = capsys.readouterr().err
    assert "needs Ray, which is not installed" in err and "byline[scale]" in err
    assert len(err.strip().splitlines()) == 1
    assert not IndexDirectory(index).exists()  # nothing was written
