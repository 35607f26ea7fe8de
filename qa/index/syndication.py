"""Syndicated copies: the same wire story printed by several outlets (or one article saved
twice) shows as one source card that lists the others.

Copies are found at build time with MinHash LSH over word shingles (datasketch), so no pair
of articles is compared unless their signatures collide; the groups are stored in the index
version (COPIES_FILE) and collapsed at query time. Every copy stays indexed: a filter on
another copy's article or dates still finds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from qa.records import Article, ArticleRef

COPIES_FILE = "copies.json"
# Estimated Jaccard similarity of word 5-gram shingles above which two articles are copies.
# Wire copies differ by a dateline, a byline or a trimmed paragraph: on the generated test
# archive (tests/time_archive.py) the copies share 0.93 of their shingles and two stories on
# one topic told in near-identical sentences 0.09, so 0.8 leaves room on both sides.
COPY_THRESHOLD = 0.8
SHINGLE_WORDS = 5
PERMUTATIONS = 128
_WORD = re.compile(r"\w+")

Item = TypeVar("Item")


def _shingles(text: str) -> set[bytes]:
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def find_copies(articles: Sequence[Article]) -> list[list[str]]:
    """Groups of article ids (two or more each, in reading order) whose texts are copies."""
    from datasketch import MinHash, MinHashLSH  # lazy: only builds need it

    lsh = MinHashLSH(threshold=COPY_THRESHOLD, num_perm=PERMUTATIONS)
    signatures: dict[str, Any] = {}
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for article in articles:
        shingles = _shingles(article.text)
        if not shingles or article.article_id in signatures:
            continue
        signature = MinHash(num_perm=PERMUTATIONS)
        signature.update_batch(list(shingles))
        parent[article.article_id] = article.article_id
        for other in lsh.query(signature):
            # LSH returns candidates; the estimate itself decides.
            if signature.jaccard(signatures[other]) >= COPY_THRESHOLD:
                parent[root(article.article_id)] = root(other)
        lsh.insert(article.article_id, signature)
        signatures[article.article_id] = signature
    groups: dict[str, list[str]] = {}
    for article_id in signatures:
        groups.setdefault(root(article_id), []).append(article_id)
    return [members for members in groups.values() if len(members) > 1]


def copies_by_article(groups: Sequence[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """article id -> every id of its group (itself included), for the groups stored."""
    return {member: tuple(group) for group in groups for member in group}


def collapse(
    items: Sequence[Item],
    article_of: Callable[[Item], str],
    copies: Mapping[str, tuple[str, ...]],
) -> list[Item]:
    """Items in order, without any from a copy of an article an earlier item came from
    (several paragraphs of one article all stay)."""
    shown: dict[tuple[str, ...], str] = {}  # group -> the copy whose card shows it
    kept = []
    for item in items:
        article_id = article_of(item)
        group = copies.get(article_id)
        if group is not None and shown.setdefault(group, article_id) != article_id:
            continue
        kept.append(item)
    return kept


def other_copies(
    article_id: str,
    copies: Mapping[str, tuple[str, ...]],
    articles: Mapping[str, Mapping[str, Any]],
) -> tuple[ArticleRef, ...]:
    """The other articles of ``article_id``'s group, oldest first (undated last)."""
    refs = [
        ArticleRef(
            article_id=other,
            title=str(articles[other].get("title", "")),
            published=articles[other].get("published"),
            source=str(articles[other].get("source", "")),
        )
        for other in copies.get(article_id, ())
        if other != article_id and other in articles
    ]
    return tuple(sorted(refs, key=lambda ref: (ref.published is None, ref.published or "")))
