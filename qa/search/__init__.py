"""Search: a question in, cited passages out (``qa.retrieve``).

Owns the ``Retriever`` (first stage over the loaded index, then the ranking of ``qa.rank``),
the cache of retrievers per index folder, filters, and time in questions: turning "last week"
into a date range and saying when a range holds nothing.

May import: ``qa.rank``, ``qa.index``, ``qa.ingest``, ``qa.records``, ``qa.errors``,
``qa.settings`` and ``embeddings``.
"""
