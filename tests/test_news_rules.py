"""General rules behind failures seen on news nobody tuned for, each pinned on small
hand-written articles (never on evaluation questions):

- "the latest on X" as of a day: the newest story on X published by then comes first;
- time words whose range holds no article: the stories dated nearest to it come first;
- "Who is X?": the paragraph that introduces X, however far down the candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import qa
from qa.rank.fusion import Scored
from qa.rank.ordering import boost_by_evidence
from qa.rank.recency import prefer_near, prefer_recent

TRAM = [
    {
        "id": "tram-2024-03",
        "title": "Lund tram line to Dalby delayed again",
        "published": "2024-03-12",
        "text": "The Lund tram line extension to Dalby has been delayed again, Lund city council "
        "said on Tuesday, blaming rising costs for the Lund tram line.\n\nConstruction of the "
        "tram line was due to begin this spring but will now start in 2025 at the earliest.",
    },
    {
        "id": "tram-2024-05",
        "title": "Dalby extension wins state money",
        "published": "2024-05-21",
        "text": "The planned extension of the tram from Lund to Dalby received 300 million "
        "kronor in state funding on Tuesday.\n\nThe council said work could start next year.",
    },
    {
        "id": "tram-2025-11",
        "title": "Track laying starts east of Lund",
        "published": "2025-11-18",
        "text": "Crews began laying track for the tram to Dalby on Monday, east of Lund's "
        "central station.\n\nThe line is expected to carry its first passengers in 2028.",
    },
    {
        "id": "tram-2026-02",
        "title": "Lund tram line reaches Dalby village",
        "published": "2026-02-03",
        "text": "Track for the Lund tram line reached the edge of Dalby on Tuesday, months "
        "ahead of schedule.",
    },
    {
        "id": "bus-2025-11",
        "title": "Malmo buses go electric",
        "published": "2025-11-30",
        "text": "All city buses in Malmo now run on electricity, the regional transport "
        "authority said.\n\nThe last diesel bus was retired in November.",
    },
]

VACCINE = [
    {
        "id": "flu-2023-06",
        "title": "Health agency approves new flu vaccine for children",
        "published": "2023-06-14",
        "text": "The national health agency approved a new nasal flu vaccine for children on "
        "Wednesday.\n\nThe flu vaccine will be offered in schools from the autumn.",
    },
    {
        "id": "flu-2024-03",
        "title": "Schools report strong uptake of nasal flu spray",
        "published": "2024-03-28",
        "text": "More than 60 percent of pupils received the nasal flu vaccine this winter, the "
        "health agency said.\n\nUptake was highest in primary schools.",
    },
    {
        "id": "port-2024-04",
        "title": "Port workers end strike",
        "published": "2024-04-02",
        "text": "Dock workers returned to work on Tuesday after a two-week strike over pay.",
    },
]


def test_the_latest_as_of_a_day_is_the_newest_story_on_the_topic_by_then(
    story_index: Callable[[list[dict[str, str]]], Path],
) -> None:
    index = story_index(TRAM)
    result = qa.answer(
        "What is the latest on the Lund tram line?", 5, index=index, as_of="2025-12-01"
    )
    # The March 2024 story repeats "Lund tram line" most, the February 2026 one is after the
    # day asked about, and the bus story is newer but on another topic.
    assert result.passages[0].title == "Track laying starts east of Lund"
    assert all((p.published or "") <= "2025-12-01" for p in result.passages)
    found = result.date_range
    assert found is not None and found.newest_first and found.date_to == "2025-12-01"
    assert "newest first" in found.describe()


def test_current_only_breaks_near_ties() -> None:
    class Item:
        def __init__(self, score: float, published: str) -> None:
            self.score, self.published = score, published

    items = [Item(1.0, "2024-01-01"), Item(0.8, "2024-03-01"), Item(0.4, "2024-04-01")]
    near_ties = prefer_recent(items, lambda item: item.published)
    on_topic = prefer_recent(items, lambda item: item.published, margin=0.5)
    assert [item.published for item in near_ties] == ["2024-01-01", "2024-03-01", "2024-04-01"]
    assert [item.published for item in on_topic] == ["2024-03-01", "2024-01-01", "2024-04-01"]


def test_an_empty_range_puts_the_stories_dated_nearest_to_it_first(
    story_index: Callable[[list[dict[str, str]]], Path],
) -> None:
    index = story_index(VACCINE)
    question = "What did the health agency say about the flu vaccine last week?"
    result = qa.answer(question, 5, index=index, as_of="2024-04-15")
    found = result.date_range
    assert found is not None and found.empty  # 8-14 April 2024 holds no article
    # The June 2023 approval matches the words best; the March 2024 report is nearest.
    assert result.passages[0].title == "Schools report strong uptake of nasal flu spray"
    assert [p.rank for p in result.passages] == list(range(1, len(result.passages) + 1))
    assert "dated nearest to it first" in found.fallback_note()


def test_nearness_counts_days_outside_the_range_and_keeps_weak_candidates_behind() -> None:
    class Item:
        def __init__(self, score: float, published: str | None) -> None:
            self.score, self.published = score, published

    items = [
        Item(1.0, "2023-06-14"),
        Item(0.9, None),
        Item(0.8, "2024-04-20"),
        Item(0.7, "2024-03-28"),
        Item(0.2, "2024-04-10"),
    ]
    ordered = prefer_near(items, lambda item: item.published, "2024-04-08", "2024-04-14")
    assert [item.published for item in ordered] == [
        "2024-04-20",  # 6 days after
        "2024-03-28",  # 11 days before
        "2023-06-14",
        None,  # undated last in its block
        "2024-04-10",  # in the range, but far below the leader: not on the topic
    ]


def test_who_is_finds_the_paragraph_that_introduces_the_person_far_down() -> None:
    texts = [f"Mara Lind said the talks would resume on day {day}." for day in range(12)]
    texts.append(
        "Mara Lind, Director of the Centre for Trade Policy at Uppsala University, pointed out "
        "that the dispute over steel quotas had stalled the talks twice since 2022."
    )
    items = [Scored(row, 1.0 - 0.05 * row, None, None) for row in range(len(texts))]
    ordered = boost_by_evidence(items, "Who is Mara Lind?", lambda row: texts[row])
    assert ordered[0].row == 12
    assert ordered[0].score == pytest.approx(1.0)  # lifted within the scores' own range
    assert [item.row for item in ordered[1:]] == list(range(12))
