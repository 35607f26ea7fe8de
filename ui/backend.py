"""The UI's one door into qa: which index it queries and the calls it makes on it.

The index directory is versioned by qa (a rebuild writes a new version and switches a
pointer when it is complete), so questions keep being answered from the old version while a
rebuild runs, and the next question after it finishes sees the new one.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import qa

Progress = Callable[[int, int, str], None]


def parse_day(value: str | None, label: str) -> str | None:
    """'' -> None; 'YYYY-MM-DD' -> itself; anything else -> qa.BylineError naming the fix."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise qa.BylineError(
            f"{label} date {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-04-13"
        ) from None


@dataclass(frozen=True)
class Backend:
    """qa calls bound to one index (None: qa's default index, built on first use)."""

    index: Path | None = None

    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        history: Sequence[str] = (),
        article_id: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        as_of: str | None = None,
        infer_dates: bool = True,
    ) -> qa.Answer:
        return qa.answer(
            question,
            k,
            index=self.index,
            history=tuple(history),
            article_id=article_id or None,
            date_from=date_from,
            date_to=date_to,
            as_of=as_of,
            infer_dates=infer_dates,
        )

    def article(self, article_id: str) -> qa.ArticleText:
        return qa.get_article(article_id, index=self.index)

    def articles(self) -> list[qa.ArticleInfo]:
        return qa.list_articles(index=self.index)

    def distinct_articles(self) -> list[qa.ArticleInfo]:
        """One article per story (syndicated copies left out), for example questions."""
        return qa.distinct_articles(index=self.index)

    def archive_folder(self) -> Path:
        """The folder uploads go to: the folder of article files this index is built from."""
        return Path(qa.default_archive_dir(self.index))

    def check_file(self, path: Path, shown_name: str) -> str | None:
        """Why qa would find no article in this file, or None when it finds one."""
        articles, warnings = qa.parse_file(path, shown_name)
        if articles:
            return None
        return "; ".join(warnings) or f"{shown_name}: not added, no article found in it"

    def rebuild(
        self,
        progress: Progress | None = None,
        *,
        feeds: Sequence[str] = (),
        public_only: bool = True,
    ) -> qa.BuildReport:
        """Re-index the archive folder(s) the index is built from, new files included, and
        its feed URLs (fetched again) plus ``feeds``. ``public_only``: refuse URLs that
        resolve to this server's own network (the UI's rule unless the operator allows)."""
        return qa.build_index(
            (),
            index=self.index,
            progress=progress,
            feeds=feeds,
            public_only=public_only,
            background=True,  # this process keeps answering questions meanwhile
        )
