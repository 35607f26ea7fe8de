"""Time words in questions -> date ranges (qa.search.timeframe), no index needed. The table
of thirty phrasings in docs/time.md is this table."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.errors import InputError
from qa.rank.recency import prefer_recent
from qa.search.timeframe import DateRange, check_as_of, frame_question, infer, wants_recent

AS_OF = dt.date(2024, 4, 15)  # a Monday

# (question, searched text, date_from, date_to)
PHRASES = [
    (
        "What did the WHO say about EG.5 last week?",
        "What did the WHO say about EG.5?",
        "2024-04-08",
        "2024-04-14",
    ),
    ("Inflation in March 2024?", "Inflation?", "2024-03-01", "2024-03-31"),
    ("Rate rises since January", "Rate rises", "2024-01-01", "2024-04-15"),
    ("What did Blinken say yesterday?", "What did Blinken say?", "2024-04-14", "2024-04-14"),
    ("Elections in 2023", "Elections", "2023-01-01", "2023-12-31"),
    ("Floods this month", "Floods", "2024-04-01", "2024-04-15"),
    ("Strikes in the past 3 days", "Strikes", "2024-04-13", "2024-04-15"),
    ("What did the Fed say two weeks ago?", "What did the Fed say?", "2024-04-01", "2024-04-07"),
    ("What happened on 13 April 2024?", "What happened?", "2024-04-13", "2024-04-13"),
    ("What happened on April 2, 2024?", "What happened?", "2024-04-02", "2024-04-02"),
    ("Inflation between January and March 2024", "Inflation", "2024-01-01", "2024-03-31"),
    ("Floods before 2020", "Floods", None, "2019-12-31"),
    ("Who won the vote in May?", "Who won the vote?", "2023-05-01", "2023-05-31"),
    ("Oil prices over the past week", "Oil prices", "2024-04-09", "2024-04-15"),
    ("Budget talks earlier this year", "Budget talks", "2024-01-01", "2024-04-15"),
    ("What did Kishida say last Monday?", "What did Kishida say?", "2024-04-08", "2024-04-08"),
    ("Ruble in the last two months", "Ruble", "2024-02-16", "2024-04-15"),
    ("Threads since 1 March", "Threads", "2024-03-01", "2024-04-15"),
    ("Sanctions until February 2024", "Sanctions", None, "2024-02-29"),
    ("Who visited India last year?", "Who visited India?", "2023-01-01", "2023-12-31"),
    ("Tariffs prior to June 2023", "Tariffs", None, "2023-05-31"),
    ("Protests during 2022", "Protests", "2022-01-01", "2022-12-31"),
    ("Markets this week", "Markets", "2024-04-15", "2024-04-15"),
    ("What happened 3 days ago?", "What happened?", "2024-04-12", "2024-04-12"),
    ("Who resigned a month ago?", "Who resigned?", "2024-03-01", "2024-03-31"),
    (
        "What did the minister say on Friday?",
        "What did the minister say?",
        "2024-04-12",
        "2024-04-12",
    ),
    ("Wildfires after March 2024", "Wildfires", "2024-04-01", "2024-04-15"),
    ("Drought in the previous month", "Drought", "2024-03-01", "2024-03-31"),
]
# Honest misses: no range is inferred and the question is searched as typed.
MISSES = [
    "Drought last spring",
    "What has the WHO said recently?",
]
PLAIN = [
    "When will Antony Blinken visit China?",
    "What may happen to the ruble?",
    "Why did the US defense secretary visit India?",
    "What did the 2023 budget say?",
    "How fast did Threads reach 100 million users?",
    "Who is the second person in line?",
    "What are the targets for 2030?",
    "What happened to the government in May's cabinet?",
    "What did the March for Our Lives organisers say?",
]


@pytest.mark.parametrize(("question", "text", "date_from", "date_to"), PHRASES)
def test_phrase_table(question: str, text: str, date_from: str | None, date_to: str | None) -> None:
    frame = infer(question, AS_OF)
    assert frame.range is not None
    assert (frame.text, frame.range.date_from, frame.range.date_to) == (text, date_from, date_to)
    assert frame.range.inferred


@pytest.mark.parametrize("question", MISSES + PLAIN)
def test_no_time_words_no_range(question: str) -> None:
    frame = infer(question, AS_OF)
    assert frame.range is None and frame.text == question


def test_early_and_late_name_the_whole_period() -> None:
    frame = infer("Who led the polls in early 2024?", AS_OF)
    assert frame.text == "Who led the polls?"
    assert frame.range == DateRange("2024-01-01", "2024-12-31", "in early 2024")
    late = infer("What did he say in late March?", AS_OF).range
    assert late is not None and late.bounds == ("2024-03-01", "2024-03-31")


def test_describe_says_the_range() -> None:
    assert DateRange("2024-03-01", "2024-03-31").describe() == "articles from 1–31 March 2024"
    assert DateRange("2024-04-13", "2024-04-13").describe() == "articles of 13 April 2024"
    assert DateRange("2023-12-30", "2024-01-02").describe() == (
        "articles from 30 December 2023 to 2 January 2024"
    )
    assert DateRange(None, "2019-12-31").describe() == "articles up to 31 December 2019"


def test_the_users_filter_wins_and_the_words_still_leave_the_text() -> None:
    text, found = frame_question("Floods last week", "2020-01-01", None, AS_OF)
    assert text == "Floods"
    assert found == DateRange("2020-01-01", None)
    assert not found.inferred


def test_a_reversed_range_is_named_not_searched() -> None:
    with pytest.raises(InputError, match=r"before it starts \(from 2024-04-20, to 2024-04-01\)"):
        frame_question("Floods", "2024-04-20", "2024-04-01", AS_OF)
    # One day, one-sided ranges and a range with time words in the question are all fine.
    assert frame_question("Floods", "2024-04-01", "2024-04-01", AS_OF)[1] == DateRange(
        "2024-04-01", "2024-04-01"
    )
    assert frame_question("Floods last week", "2024-04-20", None, AS_OF)[1] == DateRange(
        "2024-04-20", None
    )


def test_inference_can_be_switched_off() -> None:
    assert frame_question("Floods last week", None, None, AS_OF, False) == (
        "Floods last week",
        None,
    )


def test_only_time_words_searches_the_question_as_typed() -> None:
    frame = infer("last week?", AS_OF)
    assert frame.text == "last week?" and frame.range is not None


@pytest.mark.parametrize("bad", ["2024-13-01", "next Tuesday", 20240415, ""])
def test_a_bad_as_of_names_the_value(bad: object) -> None:
    with pytest.raises(InputError, match="ISO date"):
        check_as_of(bad)


def test_recent_words() -> None:
    assert wants_recent("What is the latest on EG.5?")
    assert wants_recent("the most recent figures")
    assert not wants_recent("When will Blinken visit China?")


class _Item:
    def __init__(self, score: float, published: str | None) -> None:
        self.score, self.published = score, published


def test_recency_reorders_near_ties_only() -> None:
    items = [_Item(1.0, "2024-01-01"), _Item(0.95, "2024-03-01"), _Item(0.5, "2024-04-01")]
    ordered = prefer_recent(items, lambda item: item.published)
    assert [item.published for item in ordered] == ["2024-03-01", "2024-01-01", "2024-04-01"]
