"""Reply: passages in, the reply out (``qa.answer``).

Owns what the chat and ``byline ask`` show beyond the passages: the highlighted sentences and
the quote, whether the archive answers at all (the "answered" model) and why, and the searched
date range.

May import: ``qa.search``, ``qa.rank``, ``qa.index``, ``qa.ingest``, ``qa.records``,
``qa.errors`` and ``qa.settings``.
"""
