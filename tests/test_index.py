import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.errors import IndexFormatError
from embeddings.index import VectorIndex
from embeddings.store import FORMAT_VERSION, IndexDirectory, check_model
from qa.errors import IndexStateError
from qa.index.build import build_index
from qa.search.query import get_retriever, retrieve
from tests.conftest import SEED_CORPUS


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(("rows", "k"), [(1, 1), (7, 3), (257, 10), (1000, 1000)])
def test_faiss_search_equals_numpy_brute_force(rows: int, k: int) -> None:
    vectors, queries = _unit(rows, 33, 1), _unit(5, 33, 2)
    scores, ids = VectorIndex.build(vectors, 33).search(queries, k)
    exact = queries @ vectors.T
    expected_ids = np.argsort(-exact, axis=1, kind="stable")[:, :k]
    np.testing.assert_allclose(
        scores, np.take_along_axis(exact, expected_ids, 1), rtol=1e-5, atol=1e-5
    )
    # Ids may differ only where scores tie.
    np.testing.assert_allclose(np.take_along_axis(exact, ids, 1), scores, rtol=1e-5, atol=1e-5)


def test_saved_and_loaded_index_answers_identically(tmp_path: Path) -> None:
    vectors, queries = _unit(300, 16, 3), _unit(4, 16, 4)
    index = VectorIndex.build(vectors, 16)
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, 16)
    for a, b in zip(index.search(queries, 9), loaded.search(queries, 9), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.vectors(), vectors, rtol=1e-6)


def test_index_round_trip_through_retrieve(tmp_path: Path, seed_index: Path) -> None:
    copy = tmp_path / "copy"
    build_index([SEED_CORPUS], index=copy)
    question = "What did the Russian central bank do to interest rates?"
    first = retrieve(question, k=5, index=seed_index)
    second = retrieve(question, k=5, index=copy)
    assert [(p.article_id, p.paragraph, p.score) for p in first] == [
        (p.article_id, p.paragraph, p.score) for p in second
    ]


def test_model_mismatch_is_a_clear_error(seed_index: Path) -> None:
    manifest = IndexDirectory(seed_index).read_manifest()
    with pytest.raises(
        IndexFormatError, match=r"built with model 'all-MiniLM-L6-v2'.*byline build"
    ):
        check_model(manifest, seed_index, "other/model", 768)


def _copy_index(seed_index: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(seed_index, target)
    return target / "versions" / IndexDirectory(target).current_name()  # type: ignore[operator]


def test_damaged_vectors_file_is_a_clear_error(tmp_path: Path, seed_index: Path) -> None:
    version = _copy_index(seed_index, tmp_path / "idx")
    (version / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStateError, match=r"vectors.faiss is damaged.*byline build"):
        get_retriever(tmp_path / "idx")


def test_newer_format_and_other_model_in_manifest(tmp_path: Path, seed_index: Path) -> None:
    version = _copy_index(seed_index, tmp_path / "idx")
    manifest_path = version / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format": FORMAT_VERSION + 1}))
    with pytest.raises(IndexStateError, match="upgrade byline"):
        get_retriever(tmp_path / "idx")
    manifest_path.write_text(json.dumps({**manifest, "dimension": 768}))
    with pytest.raises(IndexStateError, match="768"):
        get_retriever(tmp_path / "idx")


def test_missing_index_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="byline build PATH --index"):
        retrieve("anything", index=tmp_path / "nothing-here")
