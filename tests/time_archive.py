"""A generated archive for the time and syndication tests: one wire story printed by three
outlets on three dates, and dated unrelated articles, two of them on one topic."""

from __future__ import annotations

import json
from pathlib import Path

AS_OF = "2024-04-15"  # a Monday: "last week" is 8-14 April 2024

WIRE = [
    "Dock workers at the port of Rotterdam walked out on Monday in a dispute over pay, halting "
    "container traffic at Europe's largest port for the first time in a decade.",
    "The union said the strike would continue until the terminal operators raised wages by "
    "eight percent, in line with inflation over the past two years.",
    "Shipping lines diverted vessels to Antwerp and Hamburg, and freight rates for routes into "
    "northern Europe rose sharply as the stoppage entered its second day.",
]
COPIES = [
    ("Harbour Post", "2024-04-02", "Rotterdam dock strike halts container traffic"),
    ("Daily Ledger", "2024-04-03", "Strike at Rotterdam port halts containers"),
    ("Evening Wire", "2024-04-05", "Rotterdam port strike stops container ships"),
]
OTHERS = [
    (
        "rates-march",
        "2024-03-20",
        "Central bank holds interest rates at 4.5 percent",
        [
            "The central bank kept its main interest rate at 4.5 percent on Wednesday, "
            "saying inflation was still too high to cut.",
            "The governor said a cut was possible later in the year if prices kept easing.",
        ],
    ),
    (
        "rates-april",
        "2024-04-10",
        "Central bank raises interest rates to 4.75 percent",
        [
            "The central bank raised its main interest rate to 4.75 percent on Wednesday, "
            "saying inflation was still too high for comfort.",
            "The governor said further increases were possible if prices kept rising.",
        ],
    ),
    (
        "heatwave",
        "2024-04-09",
        "Heatwave brings record April temperatures to Madrid",
        [
            "Madrid recorded its hottest April day on Tuesday as temperatures reached 33 "
            "degrees, and officials urged residents to avoid the midday sun.",
        ],
    ),
    (
        "election",
        "2024-02-01",
        "Coalition wins regional election in Bavaria",
        [
            "A coalition of two centre parties won the regional election in Bavaria on "
            "Sunday, taking 54 percent of the vote.",
        ],
    ),
]


def write_archive(folder: Path) -> Path:
    """The archive as one JSONL file in ``folder``; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, (outlet, day, title) in enumerate(COPIES, 1):
        # Copies differ as wire copies do: the outlet's own byline line first.
        text = "\n\n".join([f"By {outlet} staff, with agencies", *WIRE])
        rows.append({"id": f"wire-{number}", "title": title, "published": day, "text": text})
    for article_id, day, title, paragraphs in OTHERS:
        rows.append(
            {"id": article_id, "title": title, "published": day, "text": "\n\n".join(paragraphs)}
        )
    path = folder / "archive.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
