"""Byline's question answering: parse articles, build the index, retrieve cited passages.

The public API is imported lazily so that ``import qa`` (and ``byline --help``) stays fast:
torch and FAISS load on the first call that needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from qa.errors import BylineError, CorpusError, IndexStateError, InputError
from qa.records import ArticleInfo, ArticleText, BuildReport, Passage

if TYPE_CHECKING:
    from qa.api import default_archive_dir, distinct_articles, get_article, list_articles
    from qa.index.build import build_index
    from qa.ingest.corpus import parse_file
    from qa.reply.answering import Answer, answer
    from qa.search.query import retrieve, retrieve_many

_LAZY = {
    "answer": "qa.reply.answering",
    "parse_file": "qa.ingest.corpus",
    "Answer": "qa.reply.answering",
    "build_index": "qa.index.build",
    "retrieve": "qa.search.query",
    "retrieve_many": "qa.search.query",
    "list_articles": "qa.api",
    "distinct_articles": "qa.api",
    "get_article": "qa.api",
    "default_archive_dir": "qa.api",
}

__all__ = [
    "Answer",
    "answer",
    "parse_file",
    "ArticleInfo",
    "ArticleText",
    "BuildReport",
    "BylineError",
    "CorpusError",
    "IndexStateError",
    "InputError",
    "Passage",
    "build_index",
    "default_archive_dir",
    "distinct_articles",
    "get_article",
    "list_articles",
    "retrieve",
    "retrieve_many",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
