"""The Gradio app: chat with source cards, an article panel, settings, archive management.

``build_app`` only lays out components and wires events; nothing touches the index until a
page loads or a question arrives, so importing this module and building the app are cheap.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

# Set before Gradio is imported: no telemetry, no version check, no calls to the internet.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Gradio's queue rebuilds a pandas table of its last 10,000 events after every event (for its
# monitoring page, which Byline does not use): under load that grew to a few ms a question
# and more the longer the server ran. Once every 1,000 events over the last 1,000 is plenty.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import gradio as gr  # noqa: E402

from ui import render  # noqa: E402
from ui.access import ArchiveAccess  # noqa: E402
from ui.assets import ARTICLE_PANEL_JS, CSS  # noqa: E402
from ui.backend import Backend  # noqa: E402
from ui.events import Handlers, md_text  # noqa: E402
from ui.uploads import MAX_UPLOAD_BYTES, SUPPORTED_SUFFIXES, human_size  # noqa: E402

log = logging.getLogger(__name__)

INTRO = (
    "# Byline\n"
    "Answers from the news archive, quoted word for word. Every passage cites its article "
    "and paragraph; **Open article** shows it in context."
)


def build_app(
    index: str | Path | None = None,
    *,
    examples: tuple[str, ...] | None = None,
    title: str = "Byline",
    access: ArchiveAccess | None = None,
    concurrency: int = 4,
) -> gr.Blocks:
    """The whole UI over one index (None: qa's default index, built on first use).
    ``access`` says who may change the archive (default: anyone, as on 127.0.0.1).
    ``concurrency``: questions (chat and /ask together) answered at once."""
    access = access or ArchiveAccess()
    backend = Backend(Path(index).expanduser() if index is not None else None)
    handlers = Handlers(backend, access)
    # Every archive, the default one too, gets examples made from its own headlines on load.
    own_examples = examples is None
    shown_examples = examples if examples is not None else ()
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(INTRO, elem_id="byline-intro")
        asked = gr.State([])  # this session's earlier questions, for follow-ups
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                chat, question, settings, sources, article_view = _ask_tab(shown_examples)
                range_note, range_row, clear_range = settings[6:]
            with gr.Tab("Manage the archive", id="archive"):
                archive_parts = _archive_tab(access)
        k, article_filter, date_from, date_to, date_row, as_of = settings[:6]
        last_question = gr.State("")  # the question the range note is about
        folder_note, table, files, rebuild_button, build_status, feed_urls, password = archive_parts

        dates = [k, article_filter, date_from, date_to, as_of]
        ask_inputs = [question, chat, asked, *dates]
        ask_outputs = [chat, question, asked, sources, range_note, range_row, last_question]
        # The 'Searching the archive…' message is the progress sign; no spinner over the chat.
        # Questions share one limit across the chat and /ask: retrieval is thread safe and
        # Gradio's default of one at a time made 20 clients queue behind each other.
        limit = {"concurrency_id": "ask", "concurrency_limit": concurrency}
        asking = {"api_visibility": "private", "show_progress": "hidden", **limit}
        question.submit(handlers.respond_dated, ask_inputs, ask_outputs, **asking)
        chat.example_select(handlers.example_text, None, question, api_visibility="private").then(
            handlers.respond_dated, ask_inputs, ask_outputs, **asking
        )
        clear_range.click(
            handlers.respond_all_dates,
            [last_question, chat, asked, *dates],
            ask_outputs,
            **asking,
        )

        chat.clear(lambda: [], None, asked, api_visibility="private")  # forget follow-ups too
        article_view.open(  # custom event raised by the card buttons (see ui.assets)
            handlers.open_from_card, None, article_view, api_visibility="private"
        )
        sources.input(handlers.open_choice, sources, article_view, api_visibility="private")

        archive_outputs = [folder_note, table, article_filter, date_row]
        app.load(handlers.archive_view, None, archive_outputs, api_visibility="private")
        if own_examples:
            app.load(handlers.headline_examples, None, chat, api_visibility="private")
        rebuild_button.click(
            handlers.change_archive,
            [files, feed_urls, password],
            [build_status, files, *archive_outputs],
            api_visibility="private",
            show_progress_on=build_status,  # one bar, not a spinner over every output
            concurrency_id="rebuild",
            concurrency_limit=1,
        )
        gr.api(handlers.ask_api, api_name="ask", **limit)  # type: ignore[arg-type]
    return app


def _ask_tab(examples: tuple[str, ...]) -> tuple[Any, ...]:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = gr.Chatbot(
                label="Byline",
                show_label=False,
                height=640,
                layout="panel",
                elem_id="byline-chat",
                autoscroll=False,  # ui.assets scrolls to the new reply's first line instead
                examples=[{"text": text} for text in examples],
                placeholder="**Ask the archive a question.** For example:",
                sanitize_html=True,  # a second line of defence; render.py escapes first
                allow_tags=False,
                latex_delimiters=[],  # '$' in news text is money, not maths
                feedback_options=None,
                buttons=[],  # "copy" would copy the reply's HTML source, not its text
            )
            question = gr.Textbox(
                show_label=False,
                placeholder="Ask a question about the archive and press Enter",
                elem_id="byline-question",
                lines=1,
                max_lines=4,
                submit_btn="Ask",
                autofocus=True,
            )
            # The range the last question's time words named ("last week"), and one click to
            # ask it again over every date.
            with gr.Row(visible=False, elem_id="byline-range-row") as range_row:
                range_note = gr.HTML("", elem_id="byline-range-note", scale=4)
                clear_range = gr.Button(
                    "Search all dates", size="sm", scale=1, elem_id="byline-clear-range"
                )
            with gr.Accordion("Settings (apply to the next question)", open=False):
                with gr.Row():
                    k = gr.Slider(1, 10, value=5, step=1, label="Passages to show")
                    article_filter = gr.Dropdown(
                        choices=[("All articles", "")],
                        value="",
                        label="Only this article",
                        interactive=True,
                    )
                with gr.Row(visible=False) as date_row:
                    # Date pickers; type="string" hands "YYYY-MM-DD" to parse_day, which
                    # turns a mistyped date into a message instead of an error.
                    date_from = gr.DateTime(
                        label="From date",
                        include_time=False,
                        type="string",
                        elem_id="byline-date-from",
                    )
                    date_to = gr.DateTime(
                        label="To date", include_time=False, type="string", elem_id="byline-date-to"
                    )
                    as_of = gr.DateTime(
                        label="“Last week” counts from (default: today)",
                        include_time=False,
                        type="string",
                        elem_id="byline-as-of",
                    )
        with gr.Column(scale=2, min_width=320):
            sources = gr.Dropdown(
                choices=[],
                value=None,
                label="Open a cited article",
                info="Or press “Open article” on a source card.",
                interactive=True,
                elem_id="byline-sources",
            )
            article_view = gr.HTML(
                render.render_notice("The article you open appears here, cited paragraph marked."),
                elem_id="byline-article-view",
                js_on_load=ARTICLE_PANEL_JS,
                padding=True,
                max_height=640,  # scrolls on its own, beside the chat
            )
    settings = (k, article_filter, date_from, date_to, date_row, as_of)
    return chat, question, (*settings, range_note, range_row, clear_range), sources, article_view


def _archive_tab(access: ArchiveAccess) -> tuple[Any, ...]:
    folder_note = gr.Markdown("Loading the archive…", elem_id="byline-archive-folder")
    open_ = access.read_only is None
    gr.Markdown(
        f"**{md_text(access.read_only)}**" if access.read_only else "",
        visible=not open_,
        elem_id="byline-archive-access",
    )
    kinds = ", ".join(SUPPORTED_SUFFIXES)
    # Upload and status first, so the build's progress bar is on screen, then the list.
    with gr.Row(equal_height=False):
        files = gr.File(
            file_count="multiple",
            # Browsers match one suffix: ".gz" lets crawl.warc.gz through to the server's check.
            file_types=[*SUPPORTED_SUFFIXES, ".gz"],
            label=f"Add article files ({kinds}; up to {human_size(MAX_UPLOAD_BYTES)} each)",
            elem_id="byline-upload",
            height=160,
            scale=3,
            interactive=open_,
        )
        with gr.Column(scale=2):
            feed_urls = gr.Textbox(
                label="Add feed URLs (RSS or Atom, one per line)",
                placeholder="https://news.example/feed.xml",
                lines=2,
                elem_id="byline-feed-urls",
                interactive=open_,
            )
            password = gr.Textbox(
                label="Admin password",
                type="password",
                visible=access.password is not None,
                elem_id="byline-admin-password",
            )
            rebuild_button = gr.Button(
                "Add to the archive and rebuild the index",
                variant="primary",
                interactive=open_,
            )
            build_status = gr.Markdown("", elem_id="byline-build-status", min_height=100)
    table = gr.Dataframe(
        headers=render.ARTICLE_COLUMNS,
        value=[],
        datatype=["str", "str", "number", "str"],
        column_widths=["48%", "14%", "12%", "26%"],  # else the headline pushes the rest off
        interactive=False,
        wrap=True,
        label="Indexed articles",
        elem_id="byline-articles",
    )
    return folder_note, table, files, rebuild_button, build_status, feed_urls, password


def warm_up(index: str | Path | None = None) -> None:
    """Open the index and load its model now; errors are left for the page to show."""
    try:
        Backend(Path(index).expanduser() if index is not None else None).articles()
    except Exception:
        log.info("warm-up failed; the page will show the error", exc_info=True)


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's own fonts: the bundled web font lacks glyphs
    at some weights (bold headings came out in two fonts), and nothing is fetched."""
    system = ["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(font=system, font_mono=mono)


# Sessions whose state (a chat's earlier questions) the server keeps, most recent first.
# Gradio's default of 10,000 cost about 75 KB a session (its copy of the page's config), and
# every /ask API call is a session of its own: a server answering the API grew by ~75 MiB a
# thousand questions until 10,000 (bench/soak.py). An evicted chat loses only its follow-up
# context.
SESSIONS_KEPT = 1000


def launch_app(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, **kw: Any):
    """Serve the app; Gradio 6 takes page CSS at launch, so it is passed here."""
    return app.launch(
        state_session_capacity=SESSIONS_KEPT,
        server_name=host,
        server_port=port,
        css=CSS,
        theme=theme(),
        max_file_size=4 * MAX_UPLOAD_BYTES,  # hard stop; uploads.py gives the clear message
        show_error=False,
        footer_links=["api"],
        **kw,
    )
