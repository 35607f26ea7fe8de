"""Window vectors in a Milvus collection: Milvus Lite on a local ``.db`` file (embedded, for
tests and one machine) or a Milvus server, through the same pymilvus calls.

One row per window: ``pk`` (``uid:born``), ``uid`` (content hash of the window and the
paragraph it belongs to), ``key`` (content hash of the embedded text: what makes a vector
reusable), the vector, ``article_id`` and ``published`` for filters, and the generation fields
``born``/``died`` (see embeddings/stores/base.py). Filters run inside Milvus as a boolean
expression next to the generation bounds, so a filtered search is one request.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from embeddings.errors import StoreConfigError
from embeddings.stores.base import LIVE, StoreSpec, Where

EXACT_BELOW = 50_000
"""Windows in a collection's first build from which it is made IVF_FLAT instead of FLAT, as
embeddings/index.py does for FAISS (same reasons, same cell counts and probes)."""
IVF_NPROBE = 32
MAX_LIMIT = 16_384
"""The most results one Milvus search returns (Milvus' topk limit)."""
_BATCH = 1_000  # rows per insert/upsert request: well under Milvus' 64 MB message limit
_IN_CHUNK = 500  # strings per ``in [...]`` expression
_UID_LENGTH = 32
_TEXT_LENGTH = 1_024  # article ids longer than this are hashed by the caller

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _install_hint() -> str:
    return "install the scale extra: pip install 'byline[scale]'"


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as error:
        raise StoreConfigError(
            f"the Milvus store needs pymilvus, which is not installed; {_install_hint()}, "
            "or leave --store out for the embedded FAISS index"
        ) from error
    return pymilvus


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def client_for(spec: StoreSpec) -> Any:
    """One pymilvus client per store URI per process (Milvus Lite lets one process open a
    ``.db`` file; its threads share that client)."""
    pymilvus = _pymilvus()
    with _clients_lock:
        found = _clients.get(spec.uri)
        if found is not None:
            return found
        if spec.is_lite:
            try:
                import milvus_lite  # noqa: F401  (pymilvus starts it for a .db path)
            except ImportError as error:
                raise StoreConfigError(
                    f"{spec.uri} is a Milvus Lite file, which needs the milvus-lite package; "
                    f"{_install_hint()}"
                ) from error
        # pymilvus logs warnings (e.g. Milvus Lite has no MVCC timestamps for iterators) that
        # would break the CLI's one-line errors; failures reach us as exceptions anyway.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        try:
            client = pymilvus.MilvusClient(uri=spec.uri, timeout=10)
            client.list_collections()
        except Exception as error:  # grpc, connection and lock errors come in many types
            raise StoreConfigError(_connect_message(spec, error)) from error
        _clients[spec.uri] = client
        return client


def _connect_message(spec: StoreSpec, error: BaseException) -> str:
    if spec.is_lite:
        return (
            f"cannot open Milvus Lite file {spec.uri} ({_short(error)}); Milvus Lite lets one "
            "process open a file at a time: stop the other byline process using it, or serve "
            "it to several with `milvus-lite server --data-dir DIR --port 19530` and "
            "--store http://127.0.0.1:19530"
        )
    return (
        f"cannot reach Milvus at {spec.uri} ({_short(error)}); start the server "
        "(docs/scale-out.md) or fix --store / BYLINE_STORE, e.g. --store http://localhost:19530"
    )


def _literal(value: str) -> str:
    # JSON's string escapes are the ones Milvus' expression parser reads.
    return json.dumps(value, ensure_ascii=False)


def _expression(where: Where, generation: int) -> str:
    parts = [f"born <= {generation}", f"died > {generation}"]
    if where.article_id is not None:
        parts.append(f"article_id == {_literal(where.article_id)}")
    if where.date_from is not None or where.date_to is not None:
        parts.append('published != ""')
        if where.date_from is not None:
            parts.append(f"published >= {_literal(where.date_from)}")
        if where.date_to is not None:
            parts.append(f"published <= {_literal(where.date_to)}")
    return " and ".join(parts)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


class GenerationRows:
    """What every Byline collection shares: rows with ``uid``, ``pk`` = ``uid:born`` and the
    generation fields, read and written the same way (embeddings/stores/base.py)."""

    def __init__(self, spec: StoreSpec, collection: str, client: Any) -> None:
        self.spec = spec
        self.collection = collection
        self.client = client

    def count(self, generation: int) -> int:
        rows = self.client.query(
            self.collection,
            filter=_expression(Where(), generation),
            output_fields=["count(*)"],
        )
        return int(rows[0]["count(*)"])

    def _rows(self, expression: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        iterator = self.client.query_iterator(
            self.collection, batch_size=_BATCH * 4, filter=expression, output_fields=fields
        )
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    return
                yield from batch
        finally:
            iterator.close()

    def live_rows(self, generation: int) -> dict[str, str]:
        """uid -> pk of every row of ``generation``."""
        return {
            str(row["uid"]): str(row["pk"])
            for row in self._rows(_expression(Where(), generation), ["pk", "uid"])
        }

    # --- writes (one writer at a time: the index folder's lock) ----------------------------

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(rows, _BATCH):
            self.client.insert(self.collection, list(chunk))

    def mark_died(self, pks: Sequence[str], generation: int) -> None:
        for chunk in _chunks(pks, _BATCH):
            self.client.upsert(
                self.collection,
                [{"pk": pk, "died": generation} for pk in chunk],
                partial_update=True,
            )

    def recover(self, generation: int) -> dict[str, int]:
        """Undo what builds after ``generation`` left (a killed build) and drop rows that no
        reader of ``generation`` or later can see. Returns the counts, for the report."""
        unborn = self.client.delete(self.collection, filter=f"born > {generation}")
        revived = [
            str(row["pk"]) for row in self._rows(f"died > {generation} and died < {LIVE}", ["pk"])
        ]
        for chunk in _chunks(revived, _BATCH):
            self.client.upsert(
                self.collection, [{"pk": pk, "died": LIVE} for pk in chunk], partial_update=True
            )
        dead = self.client.delete(self.collection, filter=f"died <= {generation}")
        return {
            "unborn": _deleted(unborn),
            "revived": len(revived),
            "dead": _deleted(dead),
        }

    def flush(self) -> None:
        # A server makes writes durable and searchable at once with flush; Milvus Lite's WAL
        # already is, and may not implement it.
        try:
            self.client.flush(self.collection)
        except Exception:
            pass


class MilvusStore(GenerationRows):
    """A collection of window vectors; see the module docstring for its rows."""

    def __init__(self, spec: StoreSpec, collection: str, client: Any, dimension: int) -> None:
        super().__init__(spec, collection, client)
        self.dimension = dimension
        self.index_type = self._index_type()

    @classmethod
    def open(cls, spec: StoreSpec, collection: str, dimension: int) -> MilvusStore:
        """An existing collection, checked to hold ``dimension``-d vectors."""
        client = client_for(spec)
        if not client.has_collection(collection):
            raise StoreConfigError(
                f"Milvus at {spec.uri} has no collection {collection!r}; build it with "
                f"`byline build PATH --store {spec.uri} --index DIR`"
            )
        found = _dimension_of(client.describe_collection(collection))
        if found != dimension:
            raise StoreConfigError(
                f"collection {collection!r} at {spec.uri} holds {found}-dimensional vectors but "
                f"the model makes {dimension}; use the model it was built with, or another "
                f"collection (--store '{spec.uri}?collection=NEW_NAME')"
            )
        client.load_collection(collection)
        return cls(spec, collection, client, dimension)

    @classmethod
    def create_or_open(
        cls, spec: StoreSpec, collection: str, dimension: int, expected_rows: int
    ) -> MilvusStore:
        """The collection, created (FLAT, or IVF_FLAT for a large first build) if absent."""
        client = client_for(spec)
        if not client.has_collection(collection):
            _create(client, collection, dimension, expected_rows)
        return cls.open(spec, collection, dimension)

    def _index_type(self) -> str:
        try:
            described = self.client.describe_index(self.collection, "vector")
        except Exception:  # older servers name indexes differently; FLAT needs no params
            return "FLAT"
        return str((described or {}).get("index_type", "FLAT"))

    # --- reads -----------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, limit: int, where: Where, generation: int
    ) -> tuple[np.ndarray, list[str]]:
        limit = min(limit, MAX_LIMIT)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type.startswith("IVF"):
            params["params"] = {"nprobe": IVF_NPROBE}
        hits = self.client.search(
            self.collection,
            data=[np.asarray(query, dtype=np.float32).reshape(-1).tolist()],
            anns_field="vector",
            limit=limit,
            filter=_expression(where, generation),
            search_params=params,
            output_fields=["uid"],
        )[0]
        scores = np.array([hit["distance"] for hit in hits], dtype=np.float32)
        return scores, [str(hit["entity"]["uid"]) for hit in hits]

    def vectors_for(self, keys: Iterable[str], generation: int) -> dict[str, np.ndarray]:
        """Stored vectors by content key, for the keys the generation holds."""
        found: dict[str, np.ndarray] = {}
        wanted = sorted(set(keys))
        alive = _expression(Where(), generation)
        for chunk in _chunks(wanted, _IN_CHUNK):
            listed = ", ".join(_literal(key) for key in chunk)
            rows = self.client.query(
                self.collection,
                filter=f"{alive} and key in [{listed}]",
                output_fields=["key", "vector"],
            )
            for row in rows:
                found[str(row["key"])] = np.asarray(row["vector"], dtype=np.float32)
        return found


def _deleted(result: Any) -> int:
    if isinstance(result, dict):
        return int(result.get("delete_count", 0))
    return int(getattr(result, "delete_count", 0) or 0)


def _dimension_of(described: dict[str, Any]) -> int | None:
    for field in described.get("fields", []):
        if field.get("name") == "vector":
            return int(field.get("params", {}).get("dim", 0)) or None
    return None


def _create(client: Any, collection: str, dimension: int, expected_rows: int) -> None:
    DataType = _pymilvus().DataType  # noqa: N806 (pymilvus' name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=_UID_LENGTH + 24)
    schema.add_field("uid", DataType.VARCHAR, max_length=_UID_LENGTH)
    schema.add_field("key", DataType.VARCHAR, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("article_id", DataType.VARCHAR, max_length=_TEXT_LENGTH)
    schema.add_field("published", DataType.VARCHAR, max_length=10)
    schema.add_field("born", DataType.INT64)
    schema.add_field("died", DataType.INT64)
    index = client.prepare_index_params()
    if expected_rows >= EXACT_BELOW:
        cells = max(1, min(65_536, round(2 * math.sqrt(expected_rows))))
        index.add_index("vector", index_type="IVF_FLAT", metric_type="IP", params={"nlist": cells})
    else:
        index.add_index("vector", index_type="FLAT", metric_type="IP")
    index.add_index("born", index_type="INVERTED")
    index.add_index("died", index_type="INVERTED")
    index.add_index("article_id", index_type="INVERTED")
    client.create_collection(
        collection, schema=schema, index_params=index, consistency_level="Strong"
    )
