"""What kind of answer a question asks for, and whether a sentence holds one.

"When ...?" wants a date or time, "How many / how much ...?" a number or amount, "Who ...?" a
person or organisation, "Where ...?" a place. Without a language model that is the strongest
cheap evidence that a sentence answers rather than merely repeats the question's words: "will
visit China from June 18 to 19" answers "When will Blinken visit China?", "Blinken's visit to
China is widely regarded as ..." does not.

The rules are deliberately plain patterns over the sentence (no tagger model ships on PyPI with
its weights from a trusted source): a name is a run of capitalised words that the question
does not already contain; a place is such a run after "in", "at", "from", "near" and the like.
"""

from __future__ import annotations

import re
from enum import Enum

from qa.rank.followup import content_words

# How many words from a question word a typed answer may stand and still count as near it.
NEAR_WORDS = 4


class AnswerType(Enum):
    TIME = "time"
    AMOUNT = "amount"
    NAME = "name"  # a person or an organisation
    PLACE = "place"


_WORD = re.compile(r"[\w'’-]+")
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday"
_TIME = re.compile(
    r"\b(?:(?:1[89]|20)\d\d|(?:" + "|".join(_MONTHS.split()) + r")\.?\s+\d{1,2}\b"
    r"|\d{1,2}\s+(?:" + "|".join(_MONTHS.split()) + r")\b"
    r"|(?:" + "|".join(_MONTHS.split()[:12]) + r")\b"
    r"|(?:" + "|".join(_WEEKDAYS.split()) + r")\b"
    r"|\d{1,2}(?::\d\d)?\s*(?:a\.?m\.?|p\.?m\.?)"
    r"|\d{4}-\d\d-\d\d"
    r"|(?:yesterday|today|tomorrow|tonight|last|next|this)\s+(?:week|month|year|weekend|spring|summer|autumn|fall|winter)"
    r"|yesterday|tomorrow"
    r"|\d+(?:st|nd|rd|th)\s+century|\d{4}s)",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred hundreds thousand thousands million millions billion billions trillion dozen "
    "dozens half quarter"
)
_AMOUNT = re.compile(
    r"(?:[$€£¥]\s?\d|\d[\d,.]*\s?(?:%|percent|per cent)"
    r"|\b\d[\d,.]*\b"
    r"|\b(?:" + "|".join(_NUMBER_WORDS.split()) + r")\b)",
    re.IGNORECASE,
)
_CAPITALISED_RUN = re.compile(
    r"(?<![\w'’])(?:[A-Z][\w'’.&-]*|[A-Z]{2,})(?:\s+(?:of|the|de|von|van|for|and|&)?\s*"
    r"(?:[A-Z][\w'’.&-]*|[A-Z]{2,}))*"
)
_PLACE_CUE = re.compile(
    r"\b(?:in|at|from|near|across|outside|inside|to|into|of)\s+(?:the\s+)?([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)"
)
# Capitalised words that start sentences or are common titles, not names on their own.
_NOT_NAMES = frozenset(
    "the a an this that these those it he she they we i in on at for but and or if when where "
    "what who why how mr mrs ms dr monday tuesday wednesday thursday friday saturday sunday "
    "january february march april may june july august september october november december".split()
)

_QUESTION_PATTERNS: tuple[tuple[re.Pattern[str], AnswerType], ...] = (
    (
        re.compile(r"\bhow\s+(?:many|much|long|old|far|big|large|high|tall|fast)\b", re.I),
        AnswerType.AMOUNT,
    ),
    (
        re.compile(r"\bwhat\s+(?:percentage|percent|share|number|amount|price|cost|age)\b", re.I),
        AnswerType.AMOUNT,
    ),
    (
        re.compile(
            r"\b(?:when|what\s+(?:year|date|day|month|time|decade|century)|which\s+(?:year|date|day|month|decade|century))\b",
            re.I,
        ),
        AnswerType.TIME,
    ),
    (
        re.compile(
            r"\b(?:where|what\s+(?:country|city|state|place|town|region|continent|nation)|which\s+(?:country|city|state|place|town|region|continent|nation))\b",
            re.I,
        ),
        AnswerType.PLACE,
    ),
    (
        re.compile(
            r"\b(?:who|whom|whose|which\s+(?:company|person|organi[sz]ation|group|team|man|woman|leader|president|politician|actor|actress|singer|artist|player|firm|agency))\b",
            re.I,
        ),
        AnswerType.NAME,
    ),
)


def answer_type(question: str) -> AnswerType | None:
    """The type of answer the question asks for, or None (e.g. "why", "what is ...")."""
    found = [
        (match.start(), kind)
        for pattern, kind in _QUESTION_PATTERNS
        if (match := pattern.search(question))
    ]
    if not found:
        return None
    # "Who said how many ...": the first question word decides.
    return min(found, key=lambda pair: pair[0])[1]


def _new_names(sentence: str, question: str) -> list[tuple[int, int]]:
    """Spans of capitalised runs of the sentence that the question does not already name."""
    asked = {word.lower() for word in _WORD.findall(question)}
    names = []
    for match in _CAPITALISED_RUN.finditer(sentence):
        words = [w for w in _WORD.findall(match.group(0)) if w.lower() not in _NOT_NAMES]
        if words and any(word.lower() not in asked for word in words):
            names.append(match.span())
    return names


def typed_spans(sentence: str, kind: AnswerType, question: str = "") -> list[tuple[int, int]]:
    """Character spans in ``sentence`` of things of ``kind`` that ``question`` does not
    already say (a date for TIME, an amount for AMOUNT, a name, a place)."""
    question_words = {word.lower() for word in _WORD.findall(question)}

    def new(text: str) -> bool:
        return any(w.lower() not in question_words for w in _WORD.findall(text))

    if kind is AnswerType.TIME:
        return [m.span() for m in _TIME.finditer(sentence) if new(m.group(0))]
    if kind is AnswerType.AMOUNT:
        # A bare year is a date, not an amount.
        return [
            m.span()
            for m in _AMOUNT.finditer(sentence)
            if new(m.group(0)) and not re.fullmatch(r"(?:1[89]|20)\d\d", m.group(0))
        ]
    if kind is AnswerType.PLACE:
        return [m.span(1) for m in _PLACE_CUE.finditer(sentence) if new(m.group(1))]
    return _new_names(sentence, question)


def holds_answer_type(sentence: str, kind: AnswerType, question: str = "") -> bool:
    """Whether ``sentence`` holds something of ``kind`` beyond what ``question`` already says."""
    return bool(typed_spans(sentence, kind, question))


def answers_near_question(
    sentence: str, kind: AnswerType, question: str, window: int = NEAR_WORDS
) -> bool:
    """A thing of ``kind`` within ``window`` words of one of the question's content words:
    "Blinken will visit China from June 18" answers "When will Blinken visit China?"; a
    sentence that only mentions some other date far from those words does not."""
    asked = {stem(word) for word in content_words(question)}
    words = list(_WORD.finditer(sentence))
    anchors = [i for i, w in enumerate(words) if stem(w.group(0).lower()) in asked]
    if not anchors:
        return False
    for start, end in typed_spans(sentence, kind, question):
        inside = [i for i, w in enumerate(words) if w.start() < end and w.end() > start]
        if inside and any(
            min(abs(i - a) for i in inside) <= window for a in anchors if a not in inside
        ):
            return True
    return False


def rare_term_coverage(question: str, text: str) -> float:
    """Share of the question's content words (longer words weigh more) that ``text`` holds."""
    words = set(content_words(question))
    if not words:
        return 0.0
    present = {stem(word.lower()) for word in _WORD.findall(text)}
    weight = {word: len(word) for word in words}
    held = sum(weight[word] for word in words if stem(word) in present)
    return held / sum(weight.values())


_SUFFIX = re.compile(r"(ing|ed|es|s)$")


def stem(word: str) -> str:
    """A light suffix stripper: "visits" and "visit" match, short words stay as they are."""
    return _SUFFIX.sub("", word) if len(word) > 4 else word
