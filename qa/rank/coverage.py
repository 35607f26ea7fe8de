"""How much of a question's rarity a text holds, by BM25's own tokens and IDF statistics.

An answering paragraph (or sentence) names what the question names; the rarer a shared word,
the more it says. Sentence evidence (``qa.rank.highlight``) and the "answered" model
(``qa.reply.answerability``) both use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.index.lexical import LexicalIndex
from qa.rank.followup import content_words


def idf_coverage(question: str, text: str, lexical: LexicalIndex) -> float:
    """Share of the question's IDF mass that ``text`` holds (BM25's tokens and statistics).

    Only the question's content words count: BM25's stop list keeps "what", "did", "about",
    which an answering paragraph need not repeat."""
    return idf_coverages(question, [text], lexical)[0]


def idf_coverages(question: str, texts: Sequence[str], lexical: LexicalIndex) -> list[float]:
    """``idf_coverage`` of each of ``texts``, tokenised in one call (a passage's sentences)."""
    tokens = set(lexical.tokenize([" ".join(content_words(question))])[0])
    weights = {token: lexical.idf(token) for token in tokens}
    total = sum(weights.values())
    if not texts:
        return []
    if not total:
        return [0.0] * len(texts)
    return [
        sum(weights[token] for token in tokens.intersection(present)) / total
        for present in lexical.tokenize(list(texts))
    ]
