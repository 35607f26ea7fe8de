"""Who may change the archive from the browser: open on 127.0.0.1; beyond it only with the
admin password (read-only without one, saying why); the chat stays open; feed URLs that
resolve to the server's own network are refused unless the operator allows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ui_helpers import BRIDGE_QUESTION, build

import qa
from tests.feed_server import feed_server
from tests.format_fixtures import RSS_FEED
from ui import cli
from ui.access import ArchiveAccess, is_loopback
from ui.backend import Backend
from ui.events import Handlers


class RecordingBackend(Backend):
    """A Backend that records rebuilds instead of running them."""

    def __init__(self, folder: Path) -> None:
        super().__init__(None)
        object.__setattr__(self, "folder", folder)
        object.__setattr__(self, "rebuilds", [])

    def archive_folder(self) -> Path:
        return self.folder  # type: ignore[attr-defined, no-any-return]

    def articles(self) -> list[qa.ArticleInfo]:
        return []

    def rebuild(self, progress: Any = None, **kw: Any) -> qa.BuildReport:
        self.rebuilds.append(kw)  # type: ignore[attr-defined]
        return qa.BuildReport(articles=1, paragraphs=1, embedded=1, seconds=0.1, index="x")


def _upload(tmp_path: Path) -> str:
    path = tmp_path / "story.md"
    path.write_text("# Ferry strike ends\n\nThe ferry crews went back to work.\n", "utf-8")
    return str(path)


def _status(result: tuple[Any, ...]) -> str:
    return str(result[0]).replace("\\", "")  # Markdown escapes


def test_loopback_is_open_and_beyond_needs_a_password() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("news.example")
    assert ArchiveAccess.for_host("127.0.0.1", None).refusal(None) is None
    shut = ArchiveAccess.for_host("0.0.0.0", None)
    assert shut.read_only is not None and "BYLINE_ADMIN_PASSWORD" in shut.read_only
    assert shut.refusal("anything") == shut.read_only
    locked = ArchiveAccess.for_host("0.0.0.0", "s3cret")
    assert locked.refusal("s3cret") is None
    assert "Wrong or missing admin password" in (locked.refusal("guess") or "")
    assert locked.refusal(None) is not None and locked.refusal("") is not None
    # A password set for a loopback server is asked for too.
    assert ArchiveAccess.for_host("127.0.0.1", "pw").refusal("") is not None


def test_read_only_archive_refuses_uploads_urls_and_rebuilds(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    backend = RecordingBackend(archive)
    handlers = Handlers(backend, ArchiveAccess.for_host("0.0.0.0", None))
    for result in (
        handlers.change_archive([_upload(tmp_path)], "https://news.example/feed", "", None),
        handlers.add_and_rebuild([_upload(tmp_path)], None),  # type: ignore[arg-type]
    ):
        status = _status(result)
        assert "Not changed" in status and "read-only" in status
        assert "BYLINE_ADMIN_PASSWORD" in status
    assert backend.rebuilds == [] and list(archive.iterdir()) == []  # type: ignore[attr-defined]


def test_the_password_opens_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    backend = RecordingBackend(archive)
    handlers = Handlers(backend, ArchiveAccess.for_host("0.0.0.0", "s3cret"))
    wrong = _status(handlers.change_archive([_upload(tmp_path)], "", "wrong", None))
    assert "Wrong or missing admin password" in wrong
    assert list(archive.iterdir()) == []
    progress = lambda *a, **k: None  # noqa: E731
    right = _status(
        handlers.change_archive(
            [_upload(tmp_path)], "https://news.example/feed\n\n", "s3cret", progress
        )
    )
    assert "Index rebuilt" in right and "Added `story.md`" in right
    assert backend.rebuilds == [  # type: ignore[attr-defined]
        {"feeds": ["https://news.example/feed"], "public_only": True}
    ]


def test_ui_feed_url_to_a_private_address_is_refused_unless_allowed(tmp_path: Path) -> None:
    built = build(tmp_path)
    before = qa.list_articles(built.index)
    progress = lambda *a, **k: None  # noqa: E731
    with feed_server() as server:
        server.pages["/feed.xml"] = (200, "application/rss+xml", RSS_FEED.encode())
        url = f"{server.base}/feed.xml"
        guarded = Handlers(Backend(built.index), ArchiveAccess())
        status = _status(guarded.change_archive(None, url, "", progress))
        assert "Rebuild failed" in status and "refused" in status
        assert "--allow-private-urls" in status
        assert server.hits == {}  # not even one request
        assert qa.list_articles(built.index) == before
        # The chat still answers.
        assert guarded.backend.ask(BRIDGE_QUESTION).passages

        allowed = Handlers(Backend(built.index), ArchiveAccess(allow_private_urls=True))
        status = _status(allowed.change_archive(None, url, "", progress))
        assert "Index rebuilt" in status, status
        assert server.hits == {"/feed.xml": 1}
    titles = {a.title for a in qa.list_articles(built.index)}
    assert "Council approves new riverside library" in titles
    assert {a.title for a in before} <= titles


def test_serve_reads_the_password_and_the_private_url_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: dict[str, Any] = {}
    import ui.app

    monkeypatch.setattr(ui.app, "launch_app", lambda app, **kw: calls.update(kw, app=app))
    monkeypatch.setattr(
        ui.app,
        "build_app",
        lambda index, access, concurrency: calls.update(access=access) or object(),
    )
    monkeypatch.delenv("BYLINE_ADMIN_PASSWORD", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--index", "/nonexistent"]) == 0
    assert calls["access"].read_only and "read-only" in capsys.readouterr().err
    monkeypatch.setenv("BYLINE_ADMIN_PASSWORD", "pw")
    # --index names no index, so serve's warm-up thread finds nothing to load.
    nowhere = ["--index", "/nonexistent"]
    assert cli.main(["serve", "--host", "0.0.0.0", "--allow-private-urls", *nowhere]) == 0
    assert calls["access"] == ArchiveAccess(password="pw", allow_private_urls=True)
    monkeypatch.delenv("BYLINE_ADMIN_PASSWORD")
    assert cli.main(["serve", *nowhere]) == 0
    assert calls["access"] == ArchiveAccess()


def test_read_only_app_disables_the_archive_controls() -> None:
    from ui.app import build_app

    app = build_app("/nonexistent/index", access=ArchiveAccess.for_host("0.0.0.0", None))
    config = app.get_config_file()
    by_id = {c["props"].get("elem_id"): c["props"] for c in config["components"] if "props" in c}
    for elem_id in ("byline-upload", "byline-feed-urls"):
        assert by_id[elem_id]["interactive"] is False, elem_id
    assert "read-only" in by_id["byline-archive-access"]["value"].replace("\\", "")
    assert by_id["byline-question"].get("interactive") is not False  # the chat stays open


def test_uploads_of_the_new_kinds_keep_their_suffix(tmp_path: Path) -> None:
    from tests.format_fixtures import CRAWLED_PAGE, CRAWLED_URL, PAGE_HTML, write_warc
    from ui.uploads import check_upload, store_uploads

    # Gradio keeps an upload under the browser's file name inside a folder of its own.
    crawl = tmp_path / "a1" / "Crawl.WARC.GZ"
    crawl.parent.mkdir()
    write_warc(crawl, [(CRAWLED_URL, CRAWLED_PAGE)])
    page = tmp_path / "b2" / "Tunnel.html"
    page.parent.mkdir()
    page.write_text(PAGE_HTML, encoding="utf-8")
    archive = tmp_path / "archive"
    uploads = [(crawl, crawl.name), (crawl, crawl.name), (page, page.name)]
    result = store_uploads(uploads, archive, Backend(None).check_file)
    assert result.problems == ()
    names = sorted(p.name for p in result.saved)
    assert names == ["Crawl-2.warc.gz", "Crawl.warc.gz", "Tunnel.html"]
    articles, warnings = qa.parse_file(archive / "Crawl-2.warc.gz")
    assert len(articles) == 1 and warnings == []
    assert "not supported" in (check_upload(crawl, "backup.tar.gz") or "")
