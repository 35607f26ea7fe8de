"""Rank: how candidate paragraphs and their sentences are scored and ordered.

Owns the pieces of evidence and the ways they are combined: fusing dense and BM25 scores,
story context, answer types, the sentence that answers, ordering by evidence, near-duplicates,
recency and the words a follow-up borrows. Functions here take scores, texts and an index's
statistics and return scores or orders; they do no I/O and hold no index.

May import: ``qa.ingest``, ``qa.index`` (its BM25 statistics), ``qa.records``, ``qa.errors``
and ``embeddings`` (the encoder interface).
"""
