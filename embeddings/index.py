"""A FAISS inner-product index over unit vectors, saved and loaded as one file.

The index knows vectors only; what a row means is recorded by the caller beside it.

Small indexes search exactly (``IndexFlatIP``). From ``exact_below`` vectors on, ``build``
makes an HNSW graph (``IndexHNSWFlat``), which answers a query in a few milliseconds at a
million vectors where exact search takes a hundred; ``bench/ann.py`` measured the parameters
below on real embeddings (recall@10 against exact search, latency, build time). The HNSW
index keeps every vector in full, so ``vectors()`` and exact search stay available: requests
for many neighbours (``k`` above ``HNSW_MAX_K``) are answered exactly from that storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import IndexFormatError

VECTORS_FILE = "vectors.faiss"

EXACT_BELOW = 50_000
"""Vector count from which ``build`` makes an HNSW graph instead of an exact index: one exact
query over 384-d vectors took 15 ms at 20k and 80 ms at 100k on a busy 2-core machine."""
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
"""Measured at 100k real-embedding vectors (bench/ann.py): recall@10 0.983 against exact at
efSearch 128 (0.966 with efConstruction 40, 0.969 with M 16), 0.6 ms a query. ``search`` walks
with max(efSearch, k): faiss itself keeps efSearch and fills the rest of a large ``k`` with
worse candidates, and retrieval asks for 400."""
HNSW_MAX_K = 1000
"""Above this many neighbours, an HNSW index is searched exactly (the graph walk would visit
more of the graph than a scan)."""

KINDS = ("flat", "hnsw", "hnsw-fp16")
STORAGES = ("float32", "float16")


def _faiss():  # type: ignore[no-untyped-def]
    import faiss

    return faiss


def _as_matrix(vectors: np.ndarray, dimension: int | None = None) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
    if dimension is not None and matrix.shape[1] != dimension:
        raise ValueError(
            f"vectors have dimension {matrix.shape[1]} but the index has {dimension}; "
            "embed with the model the index was built with"
        )
    return matrix


def _kind_of(index: Any) -> str:
    faiss = _faiss()
    if isinstance(index, faiss.IndexHNSWSQ):
        return "hnsw-fp16"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    return "flat"


class VectorIndex:
    """Inner-product search (cosine, since vectors are unit length): exact for small
    indexes, an HNSW graph for large ones (see :attr:`kind`)."""

    def __init__(self, faiss_index: object, dimension: int) -> None:
        self._index = faiss_index
        self.dimension = dimension

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        dimension: int,
        *,
        exact_below: int = EXACT_BELOW,
        storage: str = "float32",
    ) -> VectorIndex:
        """An exact index below ``exact_below`` vectors, an HNSW graph from there on.

        ``storage="float16"`` keeps an HNSW index's vectors in half the memory (scores then
        carry about 1e-3 of rounding); exact indexes always store float32.
        """
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        if isinstance(exact_below, bool) or not isinstance(exact_below, int) or exact_below < 0:
            raise ValueError(f"exact_below must be a whole number >= 0, got {exact_below!r}")
        faiss = _faiss()
        matrix = _as_matrix(vectors, dimension) if len(vectors) else np.zeros((0, dimension), "f4")
        if len(matrix) < exact_below or len(matrix) == 0:
            index = faiss.IndexFlatIP(dimension)
        elif storage == "float16":
            index = faiss.IndexHNSWSQ(
                dimension, faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT
            )
            index.train(matrix)  # fp16 needs no statistics; faiss wants the call all the same
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        if len(matrix):
            index.add(matrix)
        return cls(index, dimension)

    @property
    def kind(self) -> str:
        """'flat' (exact), 'hnsw' or 'hnsw-fp16' (approximate, vectors stored as float16)."""
        return _kind_of(self._index)

    def __len__(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), each of shape (n_queries, min(k, len)), best first.

        An HNSW index may return -1 ids (score -inf) in the last places when its graph walk
        found fewer than ``k`` vectors; callers skip negative ids.
        """
        matrix = _as_matrix(queries, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            empty = np.zeros((len(matrix), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        faiss = _faiss()
        index: Any = self._index
        options: dict[str, Any] = {}
        if self.kind != "flat":
            if k > HNSW_MAX_K:
                index = faiss.downcast_index(index.storage)  # exact scan of the same vectors
            elif k > index.hnsw.efSearch:
                options["params"] = faiss.SearchParametersHNSW(efSearch=k)
        if len(matrix) > 1:
            return index.search(matrix, k, **options)  # type: ignore[no-any-return]
        # One query gains nothing from threads (faiss splits work by query), and waking an
        # idle thread pool costs more than a small search: 15 ms vs 70 ms p50 for an exact
        # search of 20k vectors on a busy 2-core machine. The setting is per thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return index.search(matrix, k, **options)  # type: ignore[no-any-return]
        finally:
            faiss.omp_set_num_threads(threads)

    def vectors(self) -> np.ndarray:
        """All stored vectors in row order (to reuse them in an incremental rebuild)."""
        if len(self) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, len(self))  # type: ignore[attr-defined]

    def save(self, folder: Path) -> Path:
        path = folder / VECTORS_FILE
        _faiss().write_index(self._index, str(path))
        return path

    @classmethod
    def load(cls, folder: Path, dimension: int) -> VectorIndex:
        path = folder / VECTORS_FILE
        if not path.is_file():
            raise IndexFormatError(f"{path} is missing; rebuild the index with `byline build`")
        try:
            index = _faiss().read_index(str(path))
        except RuntimeError as error:
            raise IndexFormatError(
                f"{path} is damaged ({str(error).splitlines()[0][:120]}); "
                "rebuild the index with `byline build`"
            ) from error
        if index.d != dimension:
            raise IndexFormatError(
                f"{path} holds {index.d}-dimensional vectors but the manifest says {dimension}; "
                "rebuild the index with `byline build --full`"
            )
        if index.metric_type != _faiss().METRIC_INNER_PRODUCT:
            raise IndexFormatError(
                f"{path} does not use inner-product scores; rebuild the index with "
                "`byline build --full`"
            )
        return cls(index, dimension)
