"""Index: records in, a self-describing index version on disk out, and loading it back.

Owns the build (embedding new windows, reusing unchanged ones, writing a version and switching
``CURRENT``), the paragraph store, Byline's BM25 indexes (paragraphs and whole stories), the
groups of syndicated copies, the filter columns, and the Milvus store with its text collection.

May import: ``qa.ingest``, ``qa.records``, ``qa.errors``, ``qa.settings`` and ``embeddings``.
"""
