"""Time in the question ("last week", "in March 2024", "since January") -> a date range, and
the question without those words, which is what gets searched.

A small set of phrase shapes says *where* a time expression is and how wide a period it names
(a day, a week, a month, a year); dateparser resolves the words themselves against ``as_of``
("last Monday", "3 weeks ago", "13 April 2024"). Free-text date search over the whole question
(dateparser's ``search_dates``) was tried first and rejected: it reads "may", "second" and
"now" as dates, and questions without a time expression must be searched exactly as before.
docs/time.md lists 30 phrasings with the ranges they give, misses included.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from qa.errors import InputError

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_UNITS = "day|week|month|year"
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
}
_NUMBER = rf"(?:\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})"
_YEAR = r"(?:19|20)\d{2}"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"

# Anchors: expressions that name a period on their own. Order matters: longer shapes first.
_ANCHORS = [
    ("day", rf"{_DAY}\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+{_YEAR}"),
    ("day", rf"(?:{_MONTHS})\.?\s+{_DAY},?\s+{_YEAR}"),
    ("day", r"\d{4}-\d{2}-\d{2}"),
    ("month", rf"(?:{_MONTHS})\.?,?\s+(?:of\s+)?{_YEAR}"),
    ("ago", rf"(?:{_NUMBER})\s+(?:{_UNITS})s?\s+ago"),
    ("rolling", rf"(?:the\s+)?(?:past|last|previous)\s+(?:{_NUMBER})\s+(?:{_UNITS})s?"),
    ("rolling", rf"(?:the\s+)?past\s+(?:{_UNITS})"),
    ("previous", rf"(?:the\s+)?(?:last|previous)\s+(?:{_UNITS})"),
    ("this", rf"(?:earlier\s+|so\s+far\s+)?this\s+(?:{_UNITS})"),
    ("day", r"yesterday|today"),
    ("day", rf"(?:last|this\s+past)\s+(?:{_WEEKDAYS})"),
    ("day", rf"(?:{_DAY}\s+(?:of\s+)?(?:{_MONTHS})|(?:{_MONTHS})\s+{_DAY})(?![\w-])"),
]
# Anchors that are ordinary words too ("may", "2023 budget") count only after a preposition,
# and not as a possessive ("in May's cabinet"). "for" is no such preposition: "targets for
# 2030" are plans reported now, not articles of 2030.
_GUARDED = [
    ("day", rf"(?:{_WEEKDAYS})(?!['’]s)"),
    ("month", rf"(?:{_MONTHS})(?!['’]s)"),
    ("year", rf"{_YEAR}(?!['’]s)"),
]
# "early 2024", "late March": the whole period (a part of it would be a guess).
_QUALIFIER = r"(?:(?:early|mid|late)[\s-]+)?"
_PREFIX = r"since|after|from|before|until|till|up\s+to|prior\s+to|in|during|on|of|over|throughout"
_ANY_ANCHOR = "|".join(pattern for _, pattern in _ANCHORS)
_ANY_GUARDED = "|".join(pattern for _, pattern in _GUARDED)
_SIDE = rf"(?:{_ANY_ANCHOR}|{_ANY_GUARDED})"
_EXPRESSION = re.compile(
    rf"\b(?:between\s+(?P<first>{_SIDE})\s+and\s+(?P<second>{_SIDE})"
    rf"|(?:(?P<prefix>{_PREFIX})\s+(?:the\s+)?)?{_QUALIFIER}(?P<anchor>{_ANY_ANCHOR})"
    rf"|(?P<gprefix>{_PREFIX})\s+(?:the\s+)?{_QUALIFIER}(?P<guarded>{_ANY_GUARDED}))\b",
    re.IGNORECASE,
)
_RECENT = re.compile(r"\b(?:latest|most\s+recent|newest|current(?:ly)?)\b", re.IGNORECASE)
# Words that ask for the newest news itself ("the latest on X"), not a role ("the current
# president"): these order the stories on the topic newest first, up to as_of.
_LATEST = re.compile(r"\b(?:latest|most\s+recent|newest)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DateRange:
    """The published-date range a question was searched in: ISO dates, inclusive, None for
    open-ended. ``phrase`` is the question's words it came from, None for the user's own
    filter."""

    date_from: str | None
    date_to: str | None
    phrase: str | None = None
    # An inferred range that no article falls in is not applied: every date is searched with
    # the question as typed ("in February" may date the event, not the article), and these
    # say so and name the archive's nearest dates either side.
    empty: bool = False
    nearest_before: str | None = None
    nearest_after: str | None = None
    # "The latest on …": the range is everything up to as_of, and the stories on the topic
    # come newest first.
    newest_first: bool = False

    @property
    def bounds(self) -> tuple[str | None, str | None]:
        return self.date_from, self.date_to

    @property
    def inferred(self) -> bool:
        return self.phrase is not None

    def describe(self) -> str:
        """'articles from 1–31 March 2024', as the reply says it."""
        first = _dt.date.fromisoformat(self.date_from) if self.date_from else None
        last = _dt.date.fromisoformat(self.date_to) if self.date_to else None
        if first and last:
            if first == last:
                return f"articles of {_long(first)}"
            if (first.year, first.month) == (last.year, last.month):
                return f"articles from {first.day}–{last.day} {last:%B %Y}"
            if first.year == last.year:
                return f"articles from {first.day} {first:%B}–{last.day} {last:%B %Y}"
            return f"articles from {_long(first)} to {_long(last)}"
        if first:
            return f"articles from {_long(first)} on"
        if last:
            newest = ", newest first" if self.newest_first else ""
            return f"articles up to {_long(last)}{newest}"
        return "articles of any date"

    def fallback_note(self) -> str:
        """What the reply says when this inferred range held no article."""
        nearest = [
            f"{_long(_dt.date.fromisoformat(day))} ({side})"
            for side, day in (("before", self.nearest_before), ("after", self.nearest_after))
            if day
        ]
        offer = f"; the nearest dates in the archive: {' and '.join(nearest)}" if nearest else ""
        return (
            f"Nothing in the archive is dated in the range “{self.phrase}” names "
            f"({self.describe()}){offer}. Every date was searched instead, the passages "
            "dated nearest to it first."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "inferred": self.inferred,
            "phrase": self.phrase,
            "text": self.describe(),
            "applied": not self.empty,
            "nearest_before": self.nearest_before,
            "nearest_after": self.nearest_after,
            "newest_first": self.newest_first,
        }


@dataclass(frozen=True)
class Timeframe:
    """A question split into what is searched and the range its time words name."""

    text: str
    range: DateRange | None


def _long(day: _dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def check_as_of(as_of: object) -> _dt.date:
    """``as_of`` from a caller: None (today), a date, or an ISO string."""
    if as_of is None:
        return _dt.date.today()
    if isinstance(as_of, _dt.datetime):
        return as_of.date()
    if isinstance(as_of, _dt.date):
        return as_of
    if isinstance(as_of, str):
        try:
            return _dt.date.fromisoformat(as_of.strip())
        except ValueError:
            pass
    raise InputError(f"as_of (--as-of) must be an ISO date such as 2024-04-15, got {as_of!r}")


def wants_recent(question: str) -> bool:
    """Does the question ask for the newest news ('latest', 'most recent', 'current')?"""
    return bool(_RECENT.search(question))


def asks_latest(question: str) -> bool:
    """Does the question ask for the newest news itself ('the latest on …', 'most recent',
    'newest'), rather than name a current role?"""
    return bool(_LATEST.search(question))


def infer(question: str, as_of: _dt.date) -> Timeframe:
    """The question without its first time expression, and the range that expression names.

    A question without one comes back unchanged with ``range`` None.
    """
    match = _EXPRESSION.search(question)
    if match is None:
        return Timeframe(question, None)
    try:
        found = _range_of(match, as_of)
    except ValueError:  # dateparser could not read the words: search the question as asked
        found = None
    if found is None:
        return Timeframe(question, None)
    start, end = found
    rest = _without(question, match.start(), match.end())
    phrase = " ".join(match.group(0).split())
    first = start.isoformat() if start else None
    return Timeframe(rest, DateRange(first, end.isoformat() if end else None, phrase))


def _range_of(
    match: re.Match[str], as_of: _dt.date
) -> tuple[_dt.date | None, _dt.date | None] | None:
    if match.group("first") is not None:
        first = _period(match.group("first"), as_of)
        second = _period(match.group("second"), as_of)
        return min(first[0], second[0]), max(first[1], second[1])
    start, end = _period(match.group("anchor") or match.group("guarded"), as_of)
    word = " ".join((match.group("prefix") or match.group("gprefix") or "").lower().split())
    day = _dt.timedelta(days=1)
    if word in {"since", "from"}:
        return start, max(as_of, start)
    if word == "after":
        return end + day, max(as_of, end + day)
    if word in {"before", "prior to"}:
        return None, start - day
    if word in {"until", "till", "up to"}:
        return None, end
    return start, end


def _kind(words: str) -> str:
    for kind, pattern in (*_ANCHORS, *_GUARDED):
        if re.fullmatch(pattern, words, re.IGNORECASE):
            return kind
    raise ValueError(f"not a time expression: {words!r}")


def _period(words: str, as_of: _dt.date) -> tuple[_dt.date, _dt.date]:
    """The first and last day of the period ``words`` name."""
    kind = _kind(" ".join(words.split()))
    text = " ".join(words.lower().split())
    if text.startswith("the "):
        text = text[4:]
    if kind == "year":
        year = int(text)
        return _dt.date(year, 1, 1), _dt.date(year, 12, 31)
    if kind == "rolling":  # "the past 3 weeks": up to and including as_of
        count, unit = _count_unit(text)
        return _resolve(f"{count} {unit}s ago", as_of) + _dt.timedelta(days=1), as_of
    if kind == "previous":  # "last week": the whole calendar week (month, year) before
        unit = text.split()[-1]
        return _calendar(unit, _resolve(f"1 {unit} ago", as_of))
    if kind == "this":
        unit = text.split()[-1]
        return _calendar(unit, as_of)[0], as_of
    if kind == "ago":  # "3 weeks ago": the week that held the day three weeks back
        count, unit = _count_unit(text)
        return _calendar(unit, _resolve(f"{count} {unit}s ago", as_of))
    if kind == "month":
        return _calendar("month", _resolve(text, as_of, first_day=True))
    return _calendar("day", _resolve(text, as_of))


def _count_unit(text: str) -> tuple[int, str]:
    match = re.search(rf"({_NUMBER})\s+({_UNITS})s?", text)
    if match is None:  # "past week": one of them
        return 1, text.split()[-1]
    raw = match.group(1)
    return (int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]), match.group(2)


def _calendar(unit: str, day: _dt.date) -> tuple[_dt.date, _dt.date]:
    if unit == "day":
        return day, day
    if unit == "week":  # Monday to Sunday
        monday = day - _dt.timedelta(days=day.weekday())
        return monday, monday + _dt.timedelta(days=6)
    if unit == "month":
        following = _dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return day.replace(day=1), following - _dt.timedelta(days=1)
    return _dt.date(day.year, 1, 1), _dt.date(day.year, 12, 31)


def _resolve(words: str, as_of: _dt.date, *, first_day: bool = False) -> _dt.date:
    """dateparser's reading of ``words`` with ``as_of`` as today; dates in the past are
    preferred ("in March" asked in January is last March), as news questions look back."""
    import dateparser  # lazy: it compiles its language data on first import

    words = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", words)
    settings = {
        "RELATIVE_BASE": _dt.datetime.combine(as_of, _dt.time(12)),
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    if first_day:  # "February 2024" asked on the 30th must not fall off the month
        settings["PREFER_DAY_OF_MONTH"] = "first"
    parsed = dateparser.parse(words, languages=["en"], settings=settings)
    if parsed is None:
        raise ValueError(f"dateparser cannot read {words!r}")
    return parsed.date()


def _without(question: str, start: int, end: int) -> str:
    """The question with ``question[start:end]`` cut out and the seams tidied."""
    rest = f"{question[:start]} {question[end:]}"
    rest = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(rest.split()))
    rest = re.sub(r"^[,;:]\s*|[,;:]\s*(?=[?.!]|$)", "", rest).strip()
    # Nothing but the time words ("last week?"): search the question as asked.
    return rest if re.search(r"\w", rest) else question


def frame_question(
    question: object,
    date_from: str | None,
    date_to: str | None,
    as_of: object = None,
    infer_dates: bool = True,
) -> tuple[object, DateRange | None]:
    """What ``retrieve``/``answer`` search and the range they apply.

    The time words leave the searched text whenever they are found; the user's own
    ``date_from``/``date_to``, when given, win over the range those words name.
    """
    day = check_as_of(as_of)
    text, found = question, None
    if infer_dates and isinstance(question, str):
        inferred = infer(question, day)
        text, found = inferred.text, inferred.range
        latest = _LATEST.search(question)
        if found is None and latest is not None:
            # "The latest" as of a past day leaves out what was published after it.
            phrase = " ".join(latest.group(0).lower().split())
            found = DateRange(None, day.isoformat(), phrase, newest_first=True)
    if date_from is not None or date_to is not None:
        check_order(date_from, date_to)
        found = DateRange(date_from, date_to)
    return text, found


def check_order(date_from: str | None, date_to: str | None) -> None:
    """A user's range that ends before it starts is a mistake to name, not an empty search
    (which would answer "nothing is dated 20–1 April"). Malformed dates are left to the
    filter check, which names them."""
    try:
        first, last = _dt.date.fromisoformat(date_from or ""), _dt.date.fromisoformat(date_to or "")
    except (TypeError, ValueError):
        return
    if first > last:
        raise InputError(
            f"the date range ends before it starts (from {date_from}, to {date_to}); "
            f"swap the two dates: from {date_to} to {date_from}"
        )


def nearest_dates(published: list[str], wanted: DateRange) -> tuple[str | None, str | None]:
    """The archive's closest dates before and after ``wanted``, when nothing falls in it."""
    before = [day for day in published if wanted.date_from and day < wanted.date_from]
    after = [day for day in published if wanted.date_to and day > wanted.date_to]
    return (max(before) if before else None), (min(after) if after else None)
