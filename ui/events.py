"""Event handlers: Gradio values in, qa calls through Backend, rendered HTML out.

Every handler catches errors: a qa.BylineError carries a message meant for the user and is
shown as is; anything else is logged with its traceback on the server and shown as a short
apology, so a traceback never reaches the page.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

import qa
from ui import render
from ui.access import ArchiveAccess
from ui.backend import Backend, parse_day
from ui.uploads import store_uploads

log = logging.getLogger(__name__)

SEARCHING = '<p class="byline-searching">Searching the archive…</p>'
UNEXPECTED = "something unexpected went wrong (the details are in the server log); try again"
ALL_ARTICLES = ("All articles", "")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+\-.!|~>])")
# Earlier questions a chat session keeps for follow-ups. Gradio holds every session's state
# on the server (up to 10,000 sessions), so an unbounded list grew with each question of a
# long-open page; follow-ups read only the last question (qa.rank.followup), so a few do.
TURNS_KEPT = 8


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


class Handlers:
    """The functions ``build_app`` wires to events, bound to one Backend."""

    def __init__(self, backend: Backend, access: ArchiveAccess | None = None) -> None:
        self.backend = backend
        self.access = access or ArchiveAccess()

    # Chat ---------------------------------------------------------------------------------

    def respond(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        asked: list[str] | None,
        k: float,
        article_id: str | None,
        date_from: str | None,
        date_to: str | None,
        as_of: str | None = None,
        infer_dates: bool = True,
    ) -> Iterator[tuple[Any, ...]]:
        """Show the question and a 'searching' line at once, then the reply in its place."""
        for step in self._respond(
            question, chat, asked, k, article_id, date_from, date_to, as_of, infer_dates
        ):
            yield step[:4]

    def respond_dated(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        asked: list[str] | None,
        k: float,
        article_id: str | None,
        date_from: str | None,
        date_to: str | None,
        as_of: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """``respond``, plus the note under the question on the range inferred from its time
        words and the question it came from (for the note's clear button)."""
        yield from self._respond(question, chat, asked, k, article_id, date_from, date_to, as_of)

    def respond_all_dates(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        asked: list[str] | None,
        k: float,
        article_id: str | None,
        date_from: str | None,
        date_to: str | None,
        as_of: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """The note's clear button: the same question again, its time words read as words."""
        yield from self._respond(
            question, chat, asked, k, article_id, date_from, date_to, as_of, False
        )

    def _respond(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        asked: list[str] | None,
        k: float,
        article_id: str | None,
        date_from: str | None,
        date_to: str | None,
        as_of: str | None = None,
        infer_dates: bool = True,
    ) -> Iterator[tuple[Any, ...]]:
        chat, asked = list(chat or []), list(asked or [])
        question = (question or "").strip()
        if not question:
            yield chat, "", asked, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        chat += [_message("user", html.escape(question)), _message("assistant", SEARCHING)]
        hidden = gr.update(visible=False)
        yield chat, "", asked, gr.skip(), "", hidden, question
        sources: Any = gr.skip()
        note, row = "", hidden
        try:
            answer = self.backend.ask(
                question,
                int(k),
                history=asked,
                article_id=article_id or None,
                date_from=parse_day(date_from, "From"),
                date_to=parse_day(date_to, "To"),
                as_of=parse_day(as_of, "As of"),
                infer_dates=infer_dates,
            )
            reply = render.render_reply(answer)
            found = getattr(answer, "date_range", None)
            if found is not None and found.inferred and not found.empty:
                note, row = render.range_note(found), gr.update(visible=True)
            sources = gr.update(choices=render.source_choices(answer.passages), value=None)
            asked = [*asked, question][-TURNS_KEPT:]
        except qa.BylineError as error:
            reply = render.render_error(str(error))
        except Exception:
            log.exception("question failed: %r", question)
            reply = render.render_error(UNEXPECTED)
        # A new list: Gradio may still hold the one yielded above.
        yield [*chat[:-1], _message("assistant", reply)], "", asked, sources, note, row, question

    @staticmethod
    def example_text(example: gr.SelectData) -> str:
        value = example.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value)

    def ask_api(self, question: str) -> dict:
        """The answer as JSON, the same dict as `byline ask --json` prints."""
        try:
            return self.backend.ask(question).to_dict()
        except qa.BylineError as error:
            raise gr.Error(str(error)) from None

    # Article panel ------------------------------------------------------------------------

    def open_article(self, article_id: str, start: int | None, end: int | None) -> str:
        try:
            article = self.backend.article(article_id)
        except qa.BylineError as error:
            return render.render_notice(f"Could not open the article: {error}")
        except Exception:
            log.exception("opening article %r failed", article_id)
            return render.render_notice(f"Could not open the article: {UNEXPECTED}")
        return render.render_article(article, start, end)

    def open_from_card(self, event: gr.EventData) -> str:
        """A card button's value ('article_id|start|end') comes from the page: parse, check."""
        data = getattr(event, "_data", None)
        value = data.get("value") if isinstance(data, dict) else None
        parsed = render.parse_source_choice(value if isinstance(value, str) else "")
        if parsed is None:
            return render.render_notice("Could not open the article: the link was not understood.")
        return self.open_article(*parsed)

    def open_choice(self, value: str | None) -> Any:
        parsed = render.parse_source_choice(value or "")
        if parsed is None:
            return gr.skip()
        return self.open_article(*parsed)

    # Archive ------------------------------------------------------------------------------

    def archive_view(self) -> tuple[Any, ...]:
        """Folder note, article table, article filter choices and the date row's visibility."""
        try:
            folder = self.backend.archive_folder()
            articles = self.backend.articles()
        except qa.BylineError as error:
            note = f"**The archive could not be opened:** {md_text(str(error))}"
            return note, [], gr.update(choices=[ALL_ARTICLES], value=""), gr.update()
        except Exception:
            log.exception("listing the archive failed")
            note = f"**The archive could not be opened:** {UNEXPECTED}"
            return note, [], gr.update(choices=[ALL_ARTICLES], value=""), gr.update()
        paragraphs = sum(a.paragraphs for a in articles)
        note = (
            f"**{len(articles)} articles, {paragraphs} paragraphs.** Archive folder (uploads "
            f"are saved here): `{folder}`. While the index rebuilds, questions are answered "
            "from the current one."
        )
        choices = [ALL_ARTICLES, *((a.title, a.article_id) for a in articles)]
        dated = any(a.published for a in articles)
        return (
            note,
            render.article_rows(articles),
            gr.update(choices=choices, value=""),
            gr.update(visible=dated),
        )

    def headline_examples(self) -> Any:
        """The chat's example questions, made from this archive's headlines."""
        try:
            examples = render.headline_examples(self.backend.distinct_articles())
        except Exception:  # the archive view reports the error; examples just stay empty
            log.info("no examples: the archive could not be listed", exc_info=True)
            return gr.skip()
        return gr.update(examples=[{"text": text} for text in examples])

    def change_archive(
        self,
        files: Sequence[Any] | None,
        feed_urls: str | None,
        password: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a bar
    ) -> tuple[Any, ...]:
        """The archive tab's button: check who asks, then add the uploads and feed URLs (one
        per line) and rebuild. Refused changes touch nothing."""
        refusal = self.access.refusal(password)
        if refusal is not None:
            return (_bullets([f"**Not changed:** {md_text(refusal)}"]), None, *self.archive_view())
        urls = [line.strip() for line in (feed_urls or "").splitlines() if line.strip()]
        return self.add_and_rebuild(files, progress, feeds=urls, checked=True)

    def add_and_rebuild(
        self,
        files: Sequence[Any] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a bar
        *,
        feeds: Sequence[str] = (),
        checked: bool = False,
    ) -> tuple[Any, ...]:
        """Check and store the uploads, rebuild the index (fetching ``feeds`` too), then
        refresh the archive view. Without ``checked`` (change_archive's check), only an
        archive open to everyone is changed.

        Questions are still answered from the old index version while this runs.
        """
        lines: list[str] = []
        if not checked and (refusal := self.access.refusal(None)) is not None:
            return (_bullets([f"**Not changed:** {md_text(refusal)}"]), None, *self.archive_view())
        try:
            uploads = [_upload_pair(item) for item in files or []]
            folder = self.backend.archive_folder()
            stored = store_uploads(uploads, folder, self.backend.check_file)
            lines += [f"Added `{p.name}` to the archive." for p in stored.saved]
            lines += [f"⚠ {md_text(problem)}" for problem in stored.problems]
            if uploads and not stored.saved and not feeds:
                lines.append("Nothing new to index; the index was not rebuilt.")
                return (_bullets(lines), None, *self.archive_view())
            progress(0, desc="Rebuilding the index…")
            report = self.backend.rebuild(
                lambda done, total, message: progress((done, max(total, 1)), desc=message),
                feeds=feeds,
                public_only=not self.access.allow_private_urls,
            )
            lines += [f"Added the feed `{md_text(url)}`." for url in feeds]
            lines.append(
                f"**Index rebuilt:** {report.articles} articles, {report.paragraphs} "
                f"paragraphs, {report.embedded} newly embedded, in {report.seconds:.1f} s. "
                "New questions use it now."
            )
            lines += [f"⚠ {md_text(warning)}" for warning in report.skipped]
        except qa.BylineError as error:
            lines.append(f"**Rebuild failed:** {md_text(str(error))}")
        except Exception:
            log.exception("rebuild failed")
            lines.append(f"**Rebuild failed:** {UNEXPECTED}")
        return (_bullets(lines), None, *self.archive_view())


def md_text(text: str) -> str:
    """Untrusted text (file names, parser messages) for a Markdown component: shown as is,
    with no HTML and no Markdown formatting."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _upload_pair(item: Any) -> tuple[Path, str]:
    """(temp path, name the browser gave) for a gr.File value (a path string or FileData)."""
    path = Path(item if isinstance(item, str) else getattr(item, "path", None) or item.name)
    browser_name = getattr(item, "orig_name", None) or path.name
    return path, str(browser_name)
