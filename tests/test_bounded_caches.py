"""What a long-running server keeps per question or per session stays bounded (issue #21):
the retriever per index folder, a chat session's earlier questions and the sessions Gradio
keeps. The other caches of
the serving path were bounded already; notes/issue-21.md lists every one with its size."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import free_port

import qa
from qa.search.query import RETRIEVERS_KEPT, RetrieverCache
from qa.settings import Settings
from ui.events import TURNS_KEPT, Handlers


def test_retriever_cache_keeps_the_most_recently_used_index_folders(
    seed_index: Path, tmp_path: Path
) -> None:
    folders = []
    for number in range(RETRIEVERS_KEPT + 2):
        folder = tmp_path / f"index-{number}"
        shutil.copytree(seed_index, folder)
        folders.append(folder)
    cache = RetrieverCache()
    first = cache.get(Settings.resolve(index=folders[0]))
    for folder in folders[1:]:
        cache.get(Settings.resolve(index=folders[0]))  # asked often: stays
        cache.get(Settings.resolve(index=folder))
        assert len(cache) <= RETRIEVERS_KEPT
    assert len(cache) == RETRIEVERS_KEPT
    assert cache.get(Settings.resolve(index=folders[0])) is first
    # The least recently asked folder was let go: asking it again loads it again.
    evicted = cache.get(Settings.resolve(index=folders[1]))
    assert evicted.index.root == folders[1].resolve()
    assert len(cache) == RETRIEVERS_KEPT


class RecordingBackend:
    """A backend that answers every question with one real answer and records the history
    it was given (the model is beside the point here)."""

    def __init__(self, answer: qa.Answer) -> None:
        self.answer = answer
        self.histories: list[tuple[str, ...]] = []

    def ask(self, question: str, k: int = 5, **kwargs: Any) -> qa.Answer:
        self.histories.append(tuple(kwargs.get("history", ())))
        return self.answer


def test_a_chat_session_keeps_only_its_last_questions(seed_index: Path) -> None:
    backend = RecordingBackend(qa.answer("When will Blinken visit China?", 2, index=seed_index))
    handlers = Handlers(backend)  # type: ignore[arg-type]
    chat: list[Any] = []
    asked: list[str] = []
    questions = [f"question number {n}" for n in range(TURNS_KEPT * 3)]
    for question in questions:
        chat, _, asked, *_ = list(handlers.respond(question, chat, asked, 3, "", "", ""))[-1]
        assert len(asked) <= TURNS_KEPT
    assert asked == questions[-TURNS_KEPT:]
    # Follow-ups still see the question before: the last one asked is last in the history.
    assert backend.histories[-1][-1] == questions[-2]


def test_the_server_keeps_state_for_a_bounded_number_of_sessions(
    seed_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every /ask API call is a Gradio session of its own, with a copy of the page's config:
    a server answering the API must let old sessions go (bench/soak.py found ~75 MiB more a
    thousand questions with Gradio's default of 10,000 sessions)."""
    import ui.app
    from bench.load_client import http_asker

    monkeypatch.setattr(ui.app, "SESSIONS_KEPT", 3)
    app = ui.app.build_app(seed_index)
    ui.app.launch_app(app, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        ask = http_asker(app.local_url or "")
        for number in range(6):
            ask(f"When will Blinken visit China? ({number})")
        assert len(app.state_holder.session_data) == 3
    finally:
        app.close()
