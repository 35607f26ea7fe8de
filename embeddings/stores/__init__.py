"""Where vectors are served from: the embedded FAISS index folder (the default) or a Milvus
collection. ``parse_store`` reads the one setting that chooses (``--store`` / ``BYLINE_STORE``)."""

from embeddings.stores.base import LIVE, StoreSpec, Where, WindowStore, parse_store

__all__ = ["LIVE", "StoreSpec", "Where", "WindowStore", "parse_store"]
