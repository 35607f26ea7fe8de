"""Pure functions that turn qa records into HTML for the chat and the article panel.

Every string that comes from an article (headline, text, section, source, id) is untrusted:
it goes through ``html.escape`` here and nowhere else builds markup from it. Nothing in this
module imports Gradio, so all of it is tested without a browser.

The chat renders messages as Markdown, and a Markdown HTML block ends at the first blank
line; that is why reply markup is emitted on a single line with newlines turned into spaces.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type names only: rendering works on any object with these fields
    from qa import Answer, ArticleInfo, ArticleText, Passage
    from qa.search.timeframe import DateRange

_NEWLINES = re.compile(r"\s*\n\s*")
# Longest quote the opening line shows; a whole paragraph there would hide the cards.
MAX_QUOTE_CHARS = 280


def esc(value: object) -> str:
    """Escape any value for HTML text and attribute context (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def one_line(markup: str) -> str:
    """Fold newlines so the markup stays one Markdown HTML block inside the chat."""
    return _NEWLINES.sub(" ", markup)


def format_date(published: str | None) -> str | None:
    """'2024-04-13' -> '13 Apr 2024'; any other non-empty string is returned as is."""
    if not published:
        return None
    try:
        day = _dt.date.fromisoformat(published[:10])
    except ValueError:
        return published
    return f"{day.day} {day:%b %Y}"


def merge_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Clip spans to ``0..length``, drop empty ones, merge overlaps; sorted."""
    clipped = sorted((max(0, s), min(length, e)) for s, e in spans if min(length, e) > max(0, s))
    merged: list[tuple[int, int]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mark_spans(
    text: str,
    spans: Iterable[tuple[int, int]],
    *,
    offset: int = 0,
    mark_attrs: str = "",
) -> str:
    """Escape ``text`` and wrap each span in <mark>.

    ``spans`` are offsets in the source file; ``offset`` is where ``text`` starts in that
    file, so a span (s, e) covers ``text[s - offset:e - offset]``. Spans outside the text are
    clipped; overlapping ones merge, so marks never nest.
    """
    local = merge_spans(((s - offset, e - offset) for s, e in spans), len(text))
    attrs = f" {mark_attrs}" if mark_attrs else ""
    out: list[str] = []
    pos = 0
    for start, end in local:
        out.append(esc(text[pos:start]))
        out.append(f"<mark{attrs}>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def short_source(source: str) -> str:
    """'/data/archive/news.txt' -> 'news.txt' (the full path stays in the title attribute);
    a JSONL source keeps its ':LINE'."""
    return re.split(r"[\\/]", source)[-1] or source


def best_sentence(passage: Passage) -> str:
    """The passage's first highlighted sentence, else its opening; plain text, not escaped."""
    for start, end in passage.highlights:
        sentence = passage.text[max(0, start - passage.start) : max(0, end - passage.start)]
        if sentence.strip():
            return _shorten(sentence.strip())
    return _shorten(passage.text.strip())


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_QUOTE_CHARS:
        return text
    cut = text[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0]
    return cut + " …"


def citation_line(answer: Answer) -> str:
    """The reply's opening line: a verbatim quote with its marker, or a plain 'no answer'."""
    passages = answer.passages
    if not answer.answered:
        nearest = (
            " The nearest passages are shown below, marked as weak matches."
            if passages
            else " No passage came close."
        )
        why = (
            f' <span class="byline-why">Why: {esc(answer.reason)}.</span>' if answer.reason else ""
        )
        return (
            '<p class="byline-lead byline-noanswer"><strong>Nothing in the archive answers '
            f"this question.</strong>{nearest}{why}</p>"
        )
    if not passages:  # answered with nothing to cite should not happen; say so honestly
        return '<p class="byline-lead byline-noanswer">No passages were found.</p>'
    best = passages[0]
    others = ", ".join(f"[{p.rank}]" for p in passages[1:])
    also = f" <span class='byline-also'>See also {others}.</span>" if others else ""
    quote = _shorten(answer.quote_text.strip()) if answer.quote_text else best_sentence(best)
    return (
        f'<p class="byline-lead">“{esc(quote)}” '
        f'<span class="byline-marker">[{best.rank}]</span>{also}</p>'
    )


def passage_meta(passage: Passage) -> list[str]:
    """The card's metadata items, escaped: date (when known), section, paragraph, score."""
    items = []
    date = format_date(passage.published)
    if date:
        items.append(f'<time datetime="{esc(passage.published)}">{esc(date)}</time>')
    if passage.section:
        items.append(f'<span class="byline-section">{esc(passage.section)}</span>')
    items.append(f"<span>paragraph {passage.paragraph}</span>")
    items.append(f'<span class="byline-score">score {passage.score:.2f}</span>')
    return items


def render_card(passage: Passage, *, weak: bool = False, copies: bool = True) -> str:
    """One source card: marker, headline, metadata, paragraph text with <mark>ed sentences.

    The 'Open article' button's value is 'article_id|start|end' (the paragraph's source span;
    the chat's sanitizer drops data-* attributes but keeps value); the page script sends it
    to the server, which parses it with ``parse_source_choice``.
    """
    classes = "byline-card byline-weak" if weak else "byline-card"
    weak_tag = '<span class="byline-weak-tag">weak match</span>' if weak else ""
    meta = " · ".join(passage_meta(passage))
    body = mark_spans(passage.text, passage.highlights, offset=passage.start)
    return one_line(
        f'<div class="{classes}">'
        f'<div class="byline-card-head"><span class="byline-marker">[{passage.rank}]</span> '
        f'<strong class="byline-title">{esc(passage.title)}</strong>{weak_tag}</div>'
        f'<div class="byline-meta">{meta}</div>'
        f'<blockquote class="byline-text">{body}</blockquote>'
        f"{also_in(passage) if copies else ''}"
        f'<div class="byline-card-foot">'
        f'<span class="byline-source" title="{esc(passage.source)}">'
        f"{esc(short_source(passage.source))}</span>"
        f'<button type="button" class="byline-open" value="{esc(open_value(passage))}"'
        ' title="Show the whole article with this paragraph marked">'
        f"Open article at ¶{passage.paragraph}</button></div>"
        "</div>"
    )


def also_in(passage: Passage) -> str:
    """The card's list of the other outlets' copies of its story, each with a button that
    opens it; empty when there are none."""
    refs = getattr(passage, "also_in", ())
    if not refs:
        return ""
    items = []
    for ref in refs:
        date = format_date(ref.published)
        when = f' <time datetime="{esc(ref.published)}">{esc(date)}</time>' if date else ""
        items.append(
            f'<li><button type="button" class="byline-open byline-copy" '
            f'value="{esc(ref.article_id)}|0|0" title="{esc(ref.source)}">'
            f"{esc(ref.title)}</button>{when}</li>"
        )
    count = len(refs)
    label = f"also in {count} article{'s' if count != 1 else ''}"
    return (
        f'<details class="byline-also-in"><summary>{label}</summary>'
        f"<ul>{''.join(items)}</ul></details>"
    )


def range_line(answer: Answer) -> str:
    """'Searched articles from 1–31 March 2024 (from “in March 2024”)', or nothing."""
    found = getattr(answer, "date_range", None)
    if found is None:
        return ""
    if found.empty:
        return f'<p class="byline-range byline-range-empty">{esc(found.fallback_note())}</p>'
    source = f" (from “{esc(found.phrase)}”)" if found.inferred else ""
    return f'<p class="byline-range">Searched {esc(found.describe())}{source}.</p>'


def range_note(found: DateRange) -> str:
    """The line under the question: the range its time words named (the button beside it
    clears it)."""
    return (
        f'<p class="byline-range-note">Searched {esc(found.describe())}, from '
        f"“{esc(found.phrase)}” in the question.</p>"
    )


def render_reply(answer: Answer) -> str:
    """The whole assistant message: the range searched, the citation line, then one card per
    passage."""
    # A story's other copies are listed once, on its first card.
    first = {p.article_id: p.rank for p in reversed(answer.passages)}
    cards = "".join(
        render_card(p, weak=not answer.answered, copies=first[p.article_id] == p.rank)
        for p in answer.passages
    )
    lead = f"{range_line(answer)}{citation_line(answer)}"
    return one_line(f'<div class="byline-reply">{lead}{cards}</div>')


def render_error(message: str) -> str:
    """A friendly chat message for a failed search; ``message`` is shown as text."""
    return one_line(
        '<div class="byline-reply"><p class="byline-lead byline-error">'
        f"Sorry, I could not search the archive: {esc(message)}</p></div>"
    )


def render_article(article: ArticleText, start: int | None = None, end: int | None = None) -> str:
    """The whole article with the cited paragraph (source span start:end) marked.

    ``article.text`` begins at ``article.start`` in the source, so the paragraph lies at
    ``start - article.start .. end - article.start`` inside it. The text keeps its own line
    breaks (CSS white-space: pre-wrap), so offsets in the page match offsets in the file.
    """
    spans = [(start, end)] if start is not None and end is not None else []
    body = mark_spans(
        article.text,
        spans,
        offset=article.start,
        mark_attrs='class="byline-cited" id="byline-cited"',
    )
    date = format_date(article.published)
    meta = [esc(date)] if date else []
    meta.append(f'<span class="byline-source">{esc(article.source)}</span>')
    return (
        f'<article class="byline-article">'
        f"<h3>{esc(article.title)}</h3>"
        f'<div class="byline-meta">{" · ".join(meta)}</div>'
        f'<div class="byline-article-text">{body}</div>'
        "</article>"
    )


def render_notice(message: str) -> str:
    """A short message in the article panel (nothing opened yet, or an error)."""
    return f'<div class="byline-notice">{esc(message)}</div>'


def article_rows(articles: Sequence[ArticleInfo]) -> list[list[object]]:
    """Rows for the archive table. Gradio's Dataframe shows cells as text, not HTML."""
    return [[a.title, a.published or "", a.paragraphs, a.source] for a in articles]


ARTICLE_COLUMNS = ["Headline", "Date", "Paragraphs", "Source file"]


def open_value(passage: Passage) -> str:
    """'article_id|start|end': what a card's button or a source choice asks to open."""
    return f"{passage.article_id}|{passage.start}|{passage.end}"


def headline_examples(articles: Sequence[ArticleInfo], count: int = 4) -> list[str]:
    """Example questions for an archive we know nothing else about: one per headline.

    Plain text (Gradio shows example text as text); long headlines are cut at a word.
    """
    examples = []
    for article in articles[:count]:
        headline = " ".join(article.title.split())
        if len(headline) > 70:
            headline = headline[:70].rsplit(" ", 1)[0] + " …"
        if headline:
            examples.append(f"What does the archive say about “{headline}”?")
    return examples


def source_choices(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    """Dropdown choices for 'open a cited article': label -> 'article_id|start|end'.

    Gradio shows labels as text, so they are not escaped here.
    """
    return [(f"[{p.rank}] {p.title} — ¶{p.paragraph}", open_value(p)) for p in passages]


def parse_source_choice(value: str) -> tuple[str, int, int] | None:
    """Inverse of ``open_value``; None for anything malformed (it may come from the page)."""
    parts = (value or "").rsplit("|", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except ValueError:
        return None
