"""JSONL articles: one JSON object per line, ``title`` and ``text`` required, ``id``,
``published`` and ``url`` optional. Offsets index the line's ``text`` field."""

from __future__ import annotations

import json

from qa.ingest.formats.text import ArticleBuilder, parse_date, split_title_line, text_blocks
from qa.records import Article


def _jsonl_article(
    record: object, source_name: str, line_number: int, repeated: bool = False
) -> tuple[Article | None, str | None]:
    """One JSONL line -> an article, or a warning saying why the line was skipped."""
    where = f"{source_name}:{line_number}"
    if not isinstance(record, dict):
        return None, f"{where}: expected a JSON object, got {type(record).__name__}"
    title, text = record.get("title"), record.get("text")
    if not isinstance(text, str) or not text.strip():
        return None, f"{where}: 'text' is missing or not a non-empty string"
    if title is None:
        title = ""
    if not isinstance(title, str):
        return None, f"{where}: 'title' must be a string, got {type(title).__name__}"
    published_raw = record.get("published")
    published = parse_date(published_raw) if isinstance(published_raw, str) else None
    given_id = record.get("id", record.get("_id"))
    id_key = f"{source_name}|id={given_id}" if given_id is not None else where
    if repeated:
        id_key = f"{id_key}@{line_number}"
    headline, keywords = split_title_line(title.strip() or text.strip().splitlines()[0][:120])
    builder = ArticleBuilder(text, where, id_key, headline)
    builder.keywords = keywords
    builder.published = published
    for block in text_blocks(text):
        builder.add_paragraph(block.start, block.end)
    return builder.build(0, len(text), text=text), None


def parse_jsonl(source: str, source_name: str) -> tuple[list[Article], list[str]]:
    """Articles of a JSONL file, plus a warning for each line that could not be used."""
    articles: list[Article] = []
    warnings: list[str] = []
    seen_ids: set[str] = set()
    # Records end at "\n" only: JSON strings may hold U+2028 or U+0085 raw, which
    # str.splitlines would take for line breaks.
    for line_number, line in enumerate(source.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            warnings.append(f"{source_name}:{line_number}: not valid JSON ({error.msg})")
            continue
        article, warning = _jsonl_article(record, source_name, line_number)
        if article is not None and article.article_id in seen_ids:
            # The same id and title twice in one file: both are kept, the later one keyed
            # by its line.
            article, _ = _jsonl_article(record, source_name, line_number, repeated=True)
        if article is not None:
            seen_ids.add(article.article_id)
            articles.append(article)
        if warning is not None:
            warnings.append(warning)
    return articles, warnings
