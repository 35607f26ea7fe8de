"""A FAISS inner-product index over unit vectors, saved and loaded as one file.

The index knows vectors only; what a row means is recorded by the caller beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings.errors import IndexFormatError

VECTORS_FILE = "vectors.faiss"


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


class VectorIndex:
    """Exact inner-product search (cosine, since vectors are unit length)."""

    def __init__(self, faiss_index: object, dimension: int) -> None:
        self._index = faiss_index
        self.dimension = dimension

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int) -> VectorIndex:
        faiss = _faiss()
        matrix = _as_matrix(vectors, dimension) if len(vectors) else np.zeros((0, dimension), "f4")
        index = faiss.IndexFlatIP(dimension)
        if len(matrix):
            index.add(matrix)
        return cls(index, dimension)

    def __len__(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), each of shape (n_queries, min(k, len)), best first."""
        matrix = _as_matrix(queries, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            empty = np.zeros((len(matrix), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(matrix, k)  # type: ignore[attr-defined]
        return scores, ids

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
        return cls(index, dimension)
