"""Sentence spans with a real splitter (pysbd): "U.S.", "EG.5" and "8.5%" stay whole."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

_FALLBACK = re.compile(r"[^.!?]+(?:[.!?]+[\"'”’)]*|$)")
_lock = threading.Lock()
_PIECE_CHARS = 10_000
# A safe place to cut: a lowercase word of 3+ letters ends a sentence and a new one starts,
# so no abbreviation ("U.S.", "Dr.") or number ("8.5") is cut.
_PIECE_BREAK = re.compile(r"[a-z]{3}[.!?][\"'”’)]*\s+(?=[A-Z0-9\"“])")
_SHORT_ABBREVIATION = re.compile(r"(?:^|\s)[A-Za-z]{1,3}\.$")


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, trimmed of surrounding whitespace.

    pysbd's time grows with the square of its input, so a very long text is cut into pieces
    at sentence ends near every ``_PIECE_CHARS`` characters and each piece split alone.
    """
    if len(text) <= _PIECE_CHARS:
        return list(_known_piece_spans(text))
    spans: list[tuple[int, int]] = []
    begin = 0
    while begin < len(text):
        cut = len(text)
        if len(text) - begin > _PIECE_CHARS:
            boundary = _PIECE_BREAK.search(text, begin + _PIECE_CHARS // 2, begin + _PIECE_CHARS)
            cut = boundary.end() if boundary else begin + _PIECE_CHARS
        spans.extend((begin + s, begin + e) for s, e in _known_piece_spans(text[begin:cut]))
        begin = cut
    return spans


@lru_cache(maxsize=4096)
def _known_piece_spans(text: str) -> tuple[tuple[int, int], ...]:
    """``_piece_spans``, remembered: answers cite the same paragraphs again and again, and
    splitting them is most of a reply's Python time, one request at a time (the lock)."""
    return tuple(_piece_spans(text))


def _piece_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of one piece of text.

    Spans cover every non-blank character of ``text`` in order, so nothing is lost when the
    sentences are packed into embedding windows.
    """
    with _lock:  # pysbd keeps state on the segmenter while it works
        pieces = _segmenter().segment(text)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        found = text.find(stripped, cursor)
        if found < 0:  # the splitter altered the text; fall back rather than mis-cite
            return _fallback_spans(text)
        spans.append((found, found + len(stripped)))
        cursor = found + len(stripped)
    if not spans:
        return _fallback_spans(text)
    return _merge_false_breaks(text, _cover_gaps(text, spans))


def _merge_false_breaks(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Rejoin breaks no sentence would start at: before a lowercase word, or before a number
    after a short abbreviation ("variant EG. 5 has spread", "No. 3 said")."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged:
            previous = text[merged[-1][0] : merged[-1][1]]
            following = text[start:end]
            if following[:1].islower() or (
                following[:1].isdigit() and _SHORT_ABBREVIATION.search(previous)
            ):
                merged[-1] = (merged[-1][0], end)
                continue
        merged.append((start, end))
    return merged


def _fallback_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _FALLBACK.finditer(text):
        piece = match.group(0)
        if piece.strip():
            start = match.start() + len(piece) - len(piece.lstrip())
            spans.append((start, match.start() + len(piece.rstrip())))
    return _cover_gaps(text, spans)


def _cover_gaps(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Attach any non-blank text between spans to the sentence before it."""
    covered: list[tuple[int, int]] = []
    previous_end = 0
    for start, end in spans:
        if text[previous_end:start].strip():
            if covered:
                covered[-1] = (covered[-1][0], start)
            else:
                start = (
                    previous_end
                    + len(text[previous_end:start])
                    - len(text[previous_end:start].lstrip())
                )
        covered.append((start, end))
        previous_end = end
    tail = text[previous_end:]
    if tail.strip() and covered:
        covered[-1] = (covered[-1][0], previous_end + len(tail.rstrip()))
    return covered
