"""A FAISS inner-product index over unit vectors, saved and loaded as one file.

The index knows vectors only; what a row means is recorded by the caller beside it.

Small indexes search exactly (``IndexFlatIP``). From ``exact_below`` vectors on, ``build``
makes an inverted-file index (``IndexIVFFlat``: k-means cells, a query scans the ``IVF_NPROBE``
nearest cells exactly), which answers in a few milliseconds at a million vectors where exact
search takes a hundred. bench/ann.py chose it over HNSW on real embeddings grown to 1M with
noisy copies: IVF built in 71 s with recall@10 0.988 against exact at 2.9 ms a query; HNSW
(M 32, efConstruction 80) took 1,039 s to build and reached recall 0.79 even at efSearch
1600, since near-duplicate passages (wire copy, story updates) form tight clumps that its
graph walk does not enter. Every vector is kept in full, with a row map, so ``vectors()`` works
and requests for many neighbours (``k`` above ``IVF_MAX_K``) scan every cell: exact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import IndexFormatError

VECTORS_FILE = "vectors.faiss"

EXACT_BELOW = 50_000
"""Vector count from which ``build`` makes an IVF index instead of an exact one: one exact
query over 384-d vectors took 15 ms at 20k and 80 ms at 100k on a busy 2-core machine."""
IVF_CELLS_PER_SQRT = 2
"""Cells = 2 * sqrt(vectors): 2,000 at 1M, about 500 vectors a cell."""
IVF_TRAIN_PER_CELL = 40
"""k-means trains on 40 sample vectors a cell (faiss asks for at least 39), 10 iterations."""
IVF_NPROBE = 32
"""Cells a query scans. At 1M (real embeddings grown with noisy copies, a first run that
trained on 32 vectors a cell):
recall@10 against exact 0.966 at 8, 0.979 at 16, 0.988 at 32, 0.989 at 64; 2.9 ms at 32.
At 32: recall 0.980 at 20k, 0.988 at 100k, 0.990 at 1M (bench/run.py)."""
IVF_MAX_K = 1000
"""Above this many neighbours every cell is scanned (exact), as a scan would cost the same."""

SMALL_SELECTION = 20_000
"""Up to this many rows, ``search_among`` scores them alone instead of scanning every cell."""

KINDS = ("flat", "ivf", "ivf-fp16")
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
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return "ivf-fp16"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def _ivf(matrix: np.ndarray, dimension: int, storage: str) -> Any:
    """A trained, filled IVF index over ``matrix`` (float16 cells when asked)."""
    faiss = _faiss()
    cells = max(
        1,
        min(len(matrix) // IVF_TRAIN_PER_CELL, round(IVF_CELLS_PER_SQRT * math.sqrt(len(matrix)))),
    )
    quantizer = faiss.IndexFlatIP(dimension)
    if storage == "float16":
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, cells, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
    else:
        index = faiss.IndexIVFFlat(quantizer, dimension, cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_CELL
    index.cp.seed = 1234
    # An evenly spaced sample: deterministic, and as spread over the archive as its order is.
    step = max(1, len(matrix) // (IVF_TRAIN_PER_CELL * cells))
    index.train(np.ascontiguousarray(matrix[::step]))
    index.add(matrix)
    index.make_direct_map()  # row -> (cell, offset), for vectors()
    index.nprobe = min(IVF_NPROBE, cells)
    return index


class VectorIndex:
    """Inner-product search (cosine, since vectors are unit length): exact for small
    indexes, an inverted file (IVF) for large ones (see :attr:`kind`)."""

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
        """An exact index below ``exact_below`` vectors, an IVF index from there on.

        ``storage="float16"`` keeps an IVF index's vectors in half the memory (scores then
        carry about 1e-3 of rounding); exact indexes always store float32.
        """
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        if isinstance(exact_below, bool) or not isinstance(exact_below, int) or exact_below < 0:
            raise ValueError(f"exact_below must be a whole number >= 0, got {exact_below!r}")
        faiss = _faiss()
        matrix = _as_matrix(vectors, dimension) if len(vectors) else np.zeros((0, dimension), "f4")
        if len(matrix) < max(exact_below, 1):
            index = faiss.IndexFlatIP(dimension)
            if len(matrix):
                index.add(matrix)
        else:
            index = _ivf(matrix, dimension, storage)
        return cls(index, dimension)

    @property
    def kind(self) -> str:
        """'flat' (exact), 'ivf' or 'ivf-fp16' (approximate; vectors stored as float16)."""
        return _kind_of(self._index)

    def __len__(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), each of shape (n_queries, min(k, len)), best first.

        An IVF index returns -1 ids (score -inf) in the last places when the cells it scanned
        hold fewer than ``k`` vectors; callers skip negative ids.
        """
        matrix = _as_matrix(queries, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            empty = np.zeros((len(matrix), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        faiss = _faiss()
        index: Any = self._index
        options: dict[str, Any] = {}
        if self.kind != "flat" and k > IVF_MAX_K:
            options["params"] = faiss.SearchParametersIVF(nprobe=index.nlist)  # every cell
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

    def search_among(
        self, query: np.ndarray, k: int, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact search of one query over only ``rows`` (a filter): (scores, row ids) of
        shape (min(k, len(rows)),), best first. Every cell is scanned, so an IVF index
        answers as an exact one would, with the scores its own search computes."""
        matrix = _as_matrix(query, self.dimension)[:1]
        k = min(k, len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        faiss = _faiss()
        index: Any = self._index
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if self.kind == "ivf" and len(rows) <= SMALL_SELECTION:
            # A few rows: score just them (an exact index of their vectors, the same inner
            # product kernel) rather than walk every cell asking the selector about each id.
            subset = faiss.IndexFlatIP(self.dimension)
            subset.add(index.reconstruct_batch(rows))
            scores, found = subset.search(matrix, k)
            return scores[0], np.where(found[0] >= 0, rows[found[0]], -1)
        selector = faiss.IDSelectorBatch(rows)
        if self.kind == "flat":
            params = faiss.SearchParameters(sel=selector)
        else:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nlist)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query: see search()
        try:
            scores, ids = index.search(matrix, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return scores[0], ids[0]

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
