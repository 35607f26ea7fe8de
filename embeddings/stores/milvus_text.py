"""Paragraph text in a Milvus collection, for Milvus' own BM25 full-text search
(``?bm25=milvus``, see docs/scale-out.md).

One row per paragraph, not per window: a window row would count a long paragraph two or three
times in BM25's document frequencies and average length, and a row with empty text still
counts as a document of length 0 in them, so the text cannot ride on the window rows. The rows
are ``pk`` (``uid:born``), ``uid`` (content hash of the paragraph and its place), the
``text`` (analyzed by Milvus on insert), the ``sparse`` term vector a BM25 Function makes
from it, ``article_id`` and ``published`` for filters and the generation fields, so the
filter expression and the born/died scheme are exactly the vector collection's.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from embeddings.errors import StoreConfigError
from embeddings.stores.base import StoreSpec, Where
from embeddings.stores.milvus import (
    _TEXT_LENGTH,
    _UID_LENGTH,
    MAX_LIMIT,
    GenerationRows,
    _expression,
    _pymilvus,
    client_for,
)

TEXT_BYTES = 65_535
"""The longest VARCHAR Milvus holds (in bytes); a longer paragraph's text is cut to it."""


def fit_text(text: str) -> str:
    """``text`` cut to what the text field holds, at a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= TEXT_BYTES:
        return text
    return encoded[:TEXT_BYTES].decode("utf-8", errors="ignore")


class MilvusTextStore(GenerationRows):
    """A collection of paragraph texts searched with Milvus' BM25; see the module docstring."""

    @classmethod
    def open(cls, spec: StoreSpec, collection: str) -> MilvusTextStore:
        client = client_for(spec)
        if not client.has_collection(collection):
            raise StoreConfigError(
                f"Milvus at {spec.uri} has no text collection {collection!r} for its BM25; "
                f"rebuild the index with `byline build --index DIR --store "
                f"'{spec.uri}?bm25=milvus'`"
            )
        client.load_collection(collection)
        return cls(spec, collection, client)

    @classmethod
    def create_or_open(
        cls, spec: StoreSpec, collection: str, analyzer: dict[str, Any]
    ) -> MilvusTextStore:
        """The collection, created with ``analyzer`` (Milvus ``analyzer_params``) if absent."""
        client = client_for(spec)
        if not client.has_collection(collection):
            _create(client, collection, analyzer)
        return cls.open(spec, collection)

    def analyzer(self) -> dict[str, Any] | None:
        """The analyzer the collection was created with, as Milvus reports it."""
        for field in self.client.describe_collection(self.collection).get("fields", []):
            if field.get("name") == "text":
                params = field.get("params", {}).get("analyzer_params")
                found = json.loads(params) if isinstance(params, str) else params
                return dict(found) if found else None
        return None

    def clear(self) -> None:
        """Remove every row (the text of a version that did not use Milvus' BM25 is stale)."""
        self.client.delete(self.collection, filter="born >= 0")

    def search(
        self, text: str, limit: int, where: Where, generation: int
    ) -> tuple[np.ndarray, list[str]]:
        """(BM25 scores, paragraph uids) of the best ``limit`` rows of ``generation`` that
        ``where`` allows, best first; only rows that hold a query term."""
        hits = self.client.search(
            self.collection,
            data=[text],
            anns_field="sparse",
            limit=min(limit, MAX_LIMIT),
            filter=_expression(where, generation),
            search_params={"metric_type": "BM25"},
            output_fields=["uid"],
        )[0]
        # A Milvus server reports a BM25 score as the distance; Milvus Lite 3.2 reports it
        # negated (its indexes sort smaller-is-nearer). A BM25 score is never negative.
        scores = np.array([abs(float(hit["distance"])) for hit in hits], dtype=np.float32)
        return scores, [str(hit["entity"]["uid"]) for hit in hits]


def _create(client: Any, collection: str, analyzer: dict[str, Any]) -> None:
    pymilvus = _pymilvus()
    DataType = pymilvus.DataType  # noqa: N806 (pymilvus' name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=_UID_LENGTH + 24)
    schema.add_field("uid", DataType.VARCHAR, max_length=_UID_LENGTH)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=TEXT_BYTES,
        enable_analyzer=True,
        analyzer_params=analyzer,
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("article_id", DataType.VARCHAR, max_length=_TEXT_LENGTH)
    schema.add_field("published", DataType.VARCHAR, max_length=10)
    schema.add_field("born", DataType.INT64)
    schema.add_field("died", DataType.INT64)
    schema.add_function(
        pymilvus.Function(
            name="bm25",
            function_type=pymilvus.FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    # Milvus' defaults, which are also Byline's own BM25's (qa/index/lexical.py), so that the two
    # differ only in their analyzers and statistics.
    index.add_index(
        "sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": 1.5, "bm25_b": 0.75},
    )
    index.add_index("born", index_type="INVERTED")
    index.add_index("died", index_type="INVERTED")
    index.add_index("article_id", index_type="INVERTED")
    client.create_collection(
        collection, schema=schema, index_params=index, consistency_level="Strong"
    )
