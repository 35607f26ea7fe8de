"""The app without a browser: the /ask API over a live `byline serve`, the event handlers,
uploads and rebuilds, and the `serve` command line."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import (
    BRIDGE_QUESTION,
    HOSTILE_PAGE_QUESTION,
    HOSTILE_QUESTION,
    build,
    shared_index,
    shared_server,
)

import qa
from ui import cli
from ui.backend import Backend
from ui.events import SEARCHING, Handlers
from ui.uploads import store_uploads

PASSAGE_FIELDS = {f.name for f in dataclasses.fields(qa.Passage)}


def final(generator: Any) -> list[tuple[Any, ...]]:
    return list(generator)


def cards(reply: str) -> int:
    return len(re.findall(r'class="byline-card( byline-weak)?"', reply))


def shown_text(reply: str) -> str:
    """What the browser shows: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", reply))


def ask(handlers: Handlers, question: str, **settings: Any) -> list[tuple[Any, ...]]:
    values = {"k": 3, "article_id": "", "date_from": "", "date_to": ""} | settings
    return final(
        handlers.respond(
            question,
            [],
            [],
            values["k"],
            values["article_id"],
            values["date_from"],
            values["date_to"],
        )
    )


# The API ------------------------------------------------------------------------------------


def test_ask_api_returns_the_cli_json() -> None:
    from gradio_client import Client

    url = shared_server()
    client = Client(url, verbose=False)
    result = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert set(result) == {
        "question",
        "answered",
        "reason",
        "quote",
        "quote_span",
        "date_range",
        "passages",
    }
    assert result["question"] == BRIDGE_QUESTION
    assert isinstance(result["answered"], bool) and isinstance(result["reason"], str)
    assert result["passages"], result
    for passage in result["passages"]:
        assert set(passage) == PASSAGE_FIELDS
    best = result["passages"][0]
    assert "reopened to traffic on Monday" in best["text"]
    expected = qa.answer(BRIDGE_QUESTION, index=shared_index().index).to_dict()
    assert result == expected


def test_ask_api_error_is_a_message_not_a_traceback() -> None:
    from gradio_client import Client

    client = Client(shared_server(), verbose=False)
    with pytest.raises(Exception) as caught:
        client.predict("   ", api_name="/ask")
    assert "question is empty" in str(caught.value)
    assert "Traceback" not in str(caught.value)


# Chat handlers ------------------------------------------------------------------------------


def test_respond_shows_searching_then_cited_reply() -> None:
    handlers = Handlers(Backend(shared_index().index))
    steps = ask(handlers, BRIDGE_QUESTION)
    first_chat, first_box, _, _ = steps[0]
    assert first_chat[-1]["content"] == SEARCHING and first_box == ""
    chat, box, asked, sources = steps[-1]
    assert [m["role"] for m in chat] == ["user", "assistant"]
    reply = chat[-1]["content"]
    assert "[1]" in reply and cards(reply) == 3
    assert "reopened to traffic" in reply and "<mark>" in reply
    assert asked == [BRIDGE_QUESTION]
    assert len(sources["choices"]) == 3


def test_settings_filter_article_and_dates() -> None:
    built = shared_index()
    handlers = Handlers(Backend(built.index))
    library = next(a for a in qa.list_articles(built.index) if a.title.startswith("Library"))
    chat = ask(handlers, BRIDGE_QUESTION, article_id=library.article_id)[-1][0]
    titles = re.findall(r'class="byline-title">(.*?)</strong>', chat[-1]["content"])
    assert titles and set(titles) == {library.title}
    chat = ask(handlers, BRIDGE_QUESTION, date_from="2024-07-01", date_to="2024-07-31")[-1][0]
    titles = re.findall(r'class="byline-title">(.*?)</strong>', chat[-1]["content"])
    assert titles and all(t.startswith("Volcano") for t in titles)
    chat = ask(handlers, BRIDGE_QUESTION, k=1)[-1][0]
    assert cards(chat[-1]["content"]) == 1


def test_bad_date_is_a_friendly_message() -> None:
    handlers = Handlers(Backend(shared_index().index))
    reply = ask(handlers, BRIDGE_QUESTION, date_from="5 March")[-1][0][-1]["content"]
    assert "write it as YYYY-MM-DD" in reply and "byline-error" in reply
    reply = ask(handlers, BRIDGE_QUESTION, date_from="2024-07-31", date_to="2024-07-01")
    reply = reply[-1][0][-1]["content"]
    assert "the date range ends before it starts" in reply and "byline-error" in reply


class BrokenBackend:
    def ask(self, *args: Any, **kwargs: Any) -> qa.Answer:
        raise RuntimeError("disk on fire at /secret/path")


def test_unexpected_error_hides_the_traceback() -> None:
    reply = ask(Handlers(BrokenBackend()), "anything")[-1][0][-1]["content"]  # type: ignore[arg-type]
    assert "Sorry, I could not search the archive" in reply
    assert "Traceback" not in reply and "/secret/path" not in reply


class FixedBackend:
    def __init__(self, answer: qa.Answer) -> None:
        self.answer = answer

    def ask(self, *args: Any, **kwargs: Any) -> qa.Answer:
        return self.answer


def test_unanswered_question_says_so_and_marks_weak() -> None:
    real = qa.answer(BRIDGE_QUESTION, 2, index=shared_index().index)
    weak = dataclasses.replace(real, answered=False, reason="no passage is close enough")
    reply = ask(Handlers(FixedBackend(weak)), "x")[-1][0][-1]["content"]  # type: ignore[arg-type]
    assert "Nothing in the archive answers this question" in reply
    assert reply.count('class="byline-card byline-weak"') == 2
    assert reply.count('class="byline-weak-tag">weak match<') == 2


def test_hostile_passage_is_escaped_in_the_reply() -> None:
    handlers = Handlers(Backend(shared_index().index))
    reply = ask(handlers, HOSTILE_QUESTION)[-1][0][-1]["content"]
    assert "<script" not in reply and "<img" not in reply
    assert "<script>window.__bylinePwned = 3</script>" in shown_text(reply)
    assert '<img src=x onerror="window.__bylinePwned = 4">' in shown_text(reply)


def test_hostile_web_page_is_escaped_in_the_reply_and_the_article_panel() -> None:
    handlers = Handlers(Backend(shared_index().index))
    reply = ask(handlers, HOSTILE_PAGE_QUESTION)[-1][0][-1]["content"]
    assert "<script" not in reply and "<img" not in reply
    shown = shown_text(reply)
    assert "Glacier <script>window.__bylinePwned = 5</script> retreat measured" in shown
    assert '<img src=x onerror="window.__bylinePwned = 8">' in shown
    assert "20 Oct 2024" in shown  # the date from the page's meta tag
    for dropped in ("= 6", "= 7", "= 9", "= 10"):  # real tags: dropped by the extractor
        assert f"__bylinePwned {dropped}" not in shown
    glacier = next(a for a in qa.list_articles(shared_index().index) if "Glacier" in a.title)
    panel = handlers.open_article(glacier.article_id, None, None)
    assert "<script" not in panel and "<img" not in panel
    assert "window.__bylinePwned = 8" in shown_text(panel)


# Article panel ------------------------------------------------------------------------------


class Event:
    def __init__(self, data: object) -> None:
        self._data = data


def test_open_article_from_card_marks_the_paragraph() -> None:
    built = shared_index()
    handlers = Handlers(Backend(built.index))
    passage = qa.answer(BRIDGE_QUESTION, 1, index=built.index).passages[0]
    value = f"{passage.article_id}|{passage.start}|{passage.end}"
    view = handlers.open_from_card(Event({"value": value}))  # type: ignore[arg-type]
    marked = re.findall(r'<mark class="byline-cited" id="byline-cited">(.*?)</mark>', view, re.S)
    assert marked == [passage.text]
    assert handlers.open_choice(value) == view


@pytest.mark.parametrize("data", [None, {}, {"value": 3}, {"value": "x|1"}, {"value": "nope|1|2"}])
def test_open_article_with_bad_data_is_a_notice(data: object) -> None:
    view = Handlers(Backend(shared_index().index)).open_from_card(Event(data))  # type: ignore[arg-type]
    assert "Could not open the article" in view


# Archive: uploads and rebuilds --------------------------------------------------------------


class BlockingProgress:
    """Stands in for gr.Progress; holds the rebuild at its first report until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.descriptions: list[str] = []

    def __call__(self, value: object, desc: str | None = None, **_: object) -> None:
        self.descriptions.append(desc or "")
        if "Rebuilding" not in (desc or ""):
            self.reached.set()
            assert self.release.wait(60)


def test_upload_rebuild_switches_index_only_when_ready(tmp_path: Path) -> None:
    built = build(tmp_path)
    backend = Backend(built.index)
    handlers = Handlers(backend)
    assert backend.archive_folder() == built.corpus
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    good = uploads / "Penguins Report.md"  # saved under a cleaned name
    good.write_text(
        "# Penguins march inland\n\nEmperor penguins marched forty kilometres inland to breed.",
        encoding="utf-8",
    )
    binary = uploads / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    unsupported = uploads / "notes.pdf"
    unsupported.write_bytes(b"%PDF-1.4")

    progress = BlockingProgress()
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(
            out=handlers.add_and_rebuild(
                [str(good), str(binary), str(unsupported)],
                progress,  # type: ignore[arg-type]
            )
        )
    )
    worker.start()
    assert progress.reached.wait(60), "the rebuild never reported progress"
    # Mid-build, questions are answered from the old index.
    during = backend.ask("Where did the emperor penguins march?", 5)
    assert all("Penguins" not in p.title for p in during.passages)
    progress.release.set()
    worker.join(120)
    status, files_value, note, table, article_filter, _ = result["out"]
    status = status.replace("\\", "")  # Markdown escapes
    assert "Added `Penguins_Report.md`" in status
    assert "photo.txt" in status and "binary" in status
    assert "notes.pdf" in status and "not supported" in status
    assert "Index rebuilt" in status
    assert files_value is None
    assert (built.corpus / "Penguins_Report.md").is_file()
    assert not (built.corpus / "photo.txt").exists() and not (built.corpus / "notes.pdf").exists()
    assert any(row[0] == "Penguins march inland" for row in table)
    assert any(label == "Penguins march inland" for label, _ in article_filter["choices"])
    after = backend.ask("Where did the emperor penguins march?", 1)
    assert after.passages[0].title == "Penguins march inland"
    assert str(built.corpus) in note


def test_upload_too_big_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "x" * 50, encoding="utf-8")
    result = store_uploads([(big, "big.txt")], archive, lambda *_: None, max_bytes=10)
    assert not result.saved and "the limit is" in result.problems[0]
    assert list(archive.iterdir()) == []


def test_empty_rebuild_keeps_the_old_index(tmp_path: Path) -> None:
    built = build(tmp_path)
    handlers = Handlers(Backend(built.index))
    before = qa.list_articles(built.index)
    shutil.rmtree(built.corpus)
    built.corpus.mkdir()
    status = handlers.add_and_rebuild([], lambda *a, **k: None)[0]  # type: ignore[arg-type]
    assert "Rebuild failed" in status
    assert qa.list_articles(built.index) == before


# The command line ---------------------------------------------------------------------------


def test_serve_defaults_to_localhost(monkeypatch: Any) -> None:
    calls: dict[str, Any] = {}
    import ui.app

    monkeypatch.setattr(ui.app, "launch_app", lambda app, **kw: calls.update(kw, app=app))
    assert cli.main(["serve", "--index", "/nonexistent/index", "--port", "7999"]) == 0
    assert calls["host"] == "127.0.0.1" and calls["port"] == 7999
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 0
    assert calls["host"] == "0.0.0.0" and calls["port"] == 7860


def test_serve_rejects_a_bad_port(capsys: Any) -> None:
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "1-65535" in capsys.readouterr().err


def test_other_commands_still_reach_qa(capsys: Any) -> None:
    assert cli.main(["articles", "--index", str(shared_index().index), "--json"]) == 0
    assert "Harbour bridge reopens" in capsys.readouterr().out


def test_build_app_does_no_work() -> None:
    from ui.app import build_app

    app = build_app("/nonexistent/index")  # nothing is opened until a page loads
    assert app.title == "Byline"
