"""Paragraphs longer than the model's window -> overlapping sentence windows.

The model ignores text past its window (256 word pieces for all-MiniLM-L6-v2), so a long
paragraph is embedded as several windows; each maps back to its paragraph and the paragraph
scores as its best window. Every character of the paragraph is in at least one window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qa.ingest.sentences import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]
TokenOffsets = Callable[[str], list[tuple[int, int]]]


def _split_long_sentence(
    text: str, start: int, end: int, budget: int, token_offsets: TokenOffsets
) -> list[tuple[int, int]]:
    """A sentence longer than the budget, cut at word-piece boundaries (half-budget overlap)."""
    offsets = token_offsets(text[start:end])
    pieces = []
    step = max(1, budget // 2)
    for first in range(0, len(offsets), step):
        last = min(first + budget, len(offsets)) - 1
        pieces.append((start + offsets[first][0], start + offsets[last][1]))
        if last == len(offsets) - 1:
            break
    return pieces or [(start, end)]


def window_spans(
    text: str,
    budget: int,
    count_tokens: TokenCounter,
    token_offsets: TokenOffsets,
    overlap: bool = True,
) -> list[tuple[int, int]]:
    """Spans of ``text`` to embed, each within ``budget`` word pieces, overlapping by one
    sentence so that a fact straddling two windows is whole in one of them (``overlap``;
    without it the windows tile the text, and fewer word pieces are embedded)."""
    if not text.strip():
        return []
    if count_tokens([text])[0] <= budget:
        return [(0, len(text))]
    units: list[tuple[int, int]] = []
    sentences = sentence_spans(text)
    for (start, end), tokens in zip(
        sentences, count_tokens([text[s:e] for s, e in sentences]), strict=True
    ):
        if tokens > budget:
            units.extend(_split_long_sentence(text, start, end, budget, token_offsets))
        else:
            units.append((start, end))
    unit_tokens = count_tokens([text[s:e] for s, e in units])
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        used, last = unit_tokens[first], first
        while last + 1 < len(units) and used + unit_tokens[last + 1] + 1 <= budget:
            last += 1
            used += unit_tokens[last] + 1
        windows.append((units[first][0], units[last][1]))
        if last == len(units) - 1:
            break
        # Start the next window on this one's last sentence, unless that would not advance.
        first = last if overlap and last > first else last + 1
    return windows
