"""Eval: measuring retrieval on public data (``byline eval``).

Owns loading BEIR-layout datasets, building and caching their indexes, running their queries
through the same ``Retriever`` as ``qa.retrieve``, and the metrics (trec_eval's recall, MRR and
nDCG, plus passage hits and answer-in-quote).

May import: every other room of ``qa`` and ``qa.settings``; nothing imports it but the CLI.
"""
