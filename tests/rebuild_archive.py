"""The small archive the rebuild tests build and rebuild: two articles, a third to add, and
what a process that starts now answers from an index."""

from __future__ import annotations

import shutil
from pathlib import Path

from embeddings.store import IndexDirectory
from qa.index.build import build_index
from qa.search.query import RetrieverCache
from qa.settings import Settings

ARTICLES = {
    "harbour.txt": (
        "Harbour reopens after the storm",
        [
            "The city harbour reopened on Monday after a week-long closure caused by the storm.",
            "Fishing boats returned to the docks and the ferry resumed its normal timetable.",
            "Officials said repairs to the damaged sea wall will cost four million euros.",
        ],
    ),
    "library.txt": (
        "New public library opens downtown",
        [
            "A new public library opened downtown with room for two hundred thousand books.",
            "The building has a rooftop garden and a reading room for children.",
            "Entry is free and the library is open seven days a week.",
        ],
    ),
}
VOLCANO = (
    "Volcano erupts on a remote island",
    [
        "A volcano on a remote Pacific island erupted overnight, sending ash ten kilometres high.",
        "Flights across the region were cancelled as the ash cloud drifted east.",
    ],
)
QUESTIONS = ("When did the harbour reopen?", "What does the new library offer children?")


def write_article(folder: Path, name: str, title: str, paragraphs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def write_corpus(folder: Path) -> Path:
    for name, (title, paragraphs) in ARTICLES.items():
        write_article(folder, name, title, paragraphs)
    return folder


def answers(root: Path, questions: tuple[str, ...] = QUESTIONS) -> list[list[tuple]]:
    """What a process that starts now gets: a fresh load of the index from disk."""
    retriever = RetrieverCache().get(Settings.resolve(index=root))
    return [
        [(p.article_id, p.paragraph, p.text, p.score) for p in retriever.retrieve(q, 5)]
        for q in questions
    ]


def copy_index(source: Path, target: Path) -> Path:
    """A copy of an index; returns its current version folder."""
    shutil.copytree(source, target)
    return target / "versions" / IndexDirectory(target).current_name()  # type: ignore[operator]


def build_small_index(base: Path) -> tuple[Path, Path]:
    """(corpus folder, index) of the two small articles, built with the real model."""
    corpus = write_corpus(base / "corpus")
    build_index([corpus], index=base / "index")
    return corpus, base / "index"
