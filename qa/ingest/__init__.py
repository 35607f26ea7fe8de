"""Ingest: article files in, typed records out.

Owns reading sources (text, Markdown, JSONL, saved pages, feeds, crawls, feed URLs), decoding
their bytes, cutting articles into paragraphs with exact character offsets, splitting sentences
and cutting long paragraphs into the windows the model embeds. It knows nothing of indexes,
vectors or questions.

May import: ``qa.records``, ``qa.errors`` and its own modules (and third-party parsers).
"""
