"""Archive-level calls the UI needs besides retrieval: list and open articles."""

from __future__ import annotations

from pathlib import Path

from embeddings.errors import EmbeddingsError
from embeddings.store import IndexDirectory
from qa.errors import InputError, as_byline_error
from qa.records import ArticleInfo, ArticleText
from qa.search.query import get_retriever
from qa.settings import Settings, ensure_default_archive, uploads_dir


def list_articles(
    index: str | Path | None = None, *, store: str | None = None
) -> list[ArticleInfo]:
    """Every indexed article, in the order it was read."""
    return get_retriever(index, store=store).index.article_infos()


def distinct_articles(index: str | Path | None = None) -> list[ArticleInfo]:
    """``list_articles`` with one article per story: a syndicated copy (qa.index.syndication) of an
    earlier article is left out, so example questions are not the same story three times."""
    loaded = get_retriever(index).index
    shown: set[tuple[str, ...]] = set()
    kept = []
    for info in loaded.article_infos():
        group = loaded.copies.get(info.article_id)
        if group is not None and group in shown:
            continue
        if group is not None:
            shown.add(group)
        kept.append(info)
    return kept


def get_article(article_id: str, index: str | Path | None = None) -> ArticleText:
    """An article's whole text as it stands in its source file."""
    article = get_retriever(index).index.article_text(article_id)
    if article is None:
        raise InputError(
            f"no article with id {article_id!r} in the index; list them with `byline articles`"
        )
    return article


def default_archive_dir(index: str | Path | None = None) -> Path:
    """The folder of article files an index is rebuilt from; uploads belong there.

    For the default index, the per-user archive (created with the bundled corpus); for
    another index, the first folder it was built from, or (an index of single files) its
    ``uploads`` folder, which a rebuild from the index's own sources includes.
    """
    settings = Settings.resolve(index=index)
    if settings.is_default_index:
        return ensure_default_archive(settings)
    # The manifest alone says where the sources are; no need to load the model and index.
    try:
        sources = IndexDirectory(settings.index).read_manifest().get("sources", [])
    except EmbeddingsError as error:
        raise as_byline_error(error) from error
    for source in map(Path, sources):
        if source.is_dir():
            return source
    return uploads_dir(settings.index)
