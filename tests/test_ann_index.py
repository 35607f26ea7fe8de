"""The index type chosen by size: exact below the threshold, IVF above, with recall checked
against numpy brute force on small data that forces the approximate path."""

from pathlib import Path

import numpy as np
import pytest

from embeddings import index as index_module
from embeddings.index import EXACT_BELOW, VectorIndex


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _clustered(rows: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 30 topics, as text embeddings are (IVF's cells follow them)."""
    rng = np.random.default_rng(seed)
    topics = _unit(30, dim, seed + 100)
    vectors = topics[rng.integers(0, 30, rows)] + 0.15 * rng.standard_normal((rows, dim))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = [len(set(f) & set(e)) for f, e in zip(found, exact, strict=True)]
    return sum(hits) / exact.size


def _exact_ids(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_small_index_is_exact_by_default() -> None:
    index = VectorIndex.build(_unit(500, 16, 1), 16)
    assert index.kind == "flat"
    assert EXACT_BELOW > 500


def test_empty_index_is_exact_even_with_threshold_zero() -> None:
    index = VectorIndex.build(np.zeros((0, 8), np.float32), 8, exact_below=0)
    assert index.kind == "flat" and len(index) == 0
    scores, ids = index.search(_unit(2, 8, 2), 5)
    assert scores.shape == ids.shape == (2, 0)


@pytest.mark.parametrize("storage", ["float32", "float16"])
def test_lowered_threshold_builds_ivf_with_high_recall(storage: str) -> None:
    vectors = _clustered(3050, 32, 3)
    vectors, queries = vectors[:3000], vectors[3000:]
    index = VectorIndex.build(vectors, 32, exact_below=1000, storage=storage)
    assert index.kind == ("ivf" if storage == "float32" else "ivf-fp16")
    assert len(index) == 3000
    scores, ids = index.search(queries, 10)
    assert scores.shape == ids.shape == (50, 10)
    assert _recall(ids, _exact_ids(vectors, queries, 10)) >= 0.95
    # Scores are the true inner products of the ids returned, best first.
    true = np.take_along_axis(queries @ vectors.T, ids, 1)
    np.testing.assert_allclose(scores, true, atol=2e-3 if storage == "float16" else 1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_ivf_keeps_every_vector_for_rebuilds() -> None:
    vectors = _unit(1500, 24, 5)
    full = VectorIndex.build(vectors, 24, exact_below=100)
    np.testing.assert_array_equal(full.vectors(), vectors)
    half = VectorIndex.build(vectors, 24, exact_below=100, storage="float16")
    np.testing.assert_allclose(half.vectors(), vectors, atol=1e-3)


def test_ivf_saved_and_loaded_answers_identically(tmp_path: Path) -> None:
    vectors, queries = _unit(1200, 16, 6), _unit(7, 16, 7)
    index = VectorIndex.build(vectors, 16, exact_below=1000)
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, 16)
    assert loaded.kind == "ivf"
    for a, b in zip(index.search(queries, 9), loaded.search(queries, 9), strict=True):
        np.testing.assert_array_equal(a, b)


def test_many_neighbours_from_ivf_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, queries = _unit(2000, 16, 8), _unit(3, 16, 9)
    index = VectorIndex.build(vectors, 16, exact_below=1000)
    monkeypatch.setattr(index_module, "IVF_MAX_K", 20)
    scores, ids = index.search(queries, 2000)  # the whole corpus, as the k > len rule says
    exact = queries @ vectors.T
    np.testing.assert_allclose(scores, -np.sort(-exact, axis=1), atol=1e-5)
    assert all(sorted(row) == list(range(2000)) for row in ids.tolist())


def test_single_query_search_leaves_faiss_threads_as_they_were() -> None:
    import faiss

    before = faiss.omp_get_max_threads()
    index = VectorIndex.build(_unit(1100, 8, 10), 8, exact_below=1000)
    index.search(_unit(1, 8, 11), 3)
    assert faiss.omp_get_max_threads() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"storage": "int4"}, "storage must be one of float32, float16"),
        ({"exact_below": -1}, "exact_below must be a whole number"),
        ({"exact_below": 2.5}, "exact_below must be a whole number"),
    ],
)
def test_bad_build_options_name_the_value(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VectorIndex.build(_unit(10, 4, 12), 4, **options)


def test_ivf_scans_a_few_cells_and_still_finds_the_nearest() -> None:
    vectors = _unit(4000, 32, 13)
    index = VectorIndex.build(vectors, 32, exact_below=1000)
    faiss_index = index._index  # type: ignore[attr-defined]
    assert 1 < faiss_index.nprobe < faiss_index.nlist  # approximate, not a disguised scan
    # Each stored vector's nearest neighbour is itself.
    _, ids = index.search(vectors[:200], 1)
    assert np.mean(ids[:, 0] == np.arange(200)) >= 0.99
