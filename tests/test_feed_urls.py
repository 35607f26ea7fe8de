"""Feed URLs: `byline build URL` fetches the feed (from a server on 127.0.0.1 started in the
test, nothing else is contacted), a rebuild fetches it again and adds only new or changed
entries, and every failure is one line, exit 1, with nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.store import IndexDirectory
from qa.cli import main
from qa.ingest.formats.fetch import FetchError, check_public, fetch_bytes, fetch_feed, stored_path
from qa.search.query import retrieve
from tests.feed_server import Routes, feed_server
from tests.format_fixtures import PAGE_HTML

ITEM = """<item><title>{title}</title><link>https://town.example/{slug}</link>
<guid>https://town.example/{slug}</guid><pubDate>{date}</pubDate>
<description>{text}</description></item>"""


def _rss(*items: tuple[str, str, str, str]) -> bytes:
    body = "".join(
        ITEM.format(slug=slug, title=title, date=date, text=text)
        for slug, title, date, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Town</title>{body}'
        "</channel></rss>".encode()
    )


BRIDGE = (
    "bridge",
    "Old bridge closes for repairs",
    "Mon, 01 Jul 2024 08:00:00 GMT",
    "The old stone bridge over the canal closes on Monday for six months of repairs.",
)
MARKET = (
    "market",
    "Farmers market moves to the square",
    "Tue, 02 Jul 2024 08:00:00 GMT",
    "The Saturday farmers market moves from the car park to the cathedral square.",
)
CHOIR = (
    "choir",
    "Children's choir wins national prize",
    "Wed, 03 Jul 2024 08:00:00 GMT",
    "The school's children's choir won the national prize in the capital on Tuesday.",
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Routes]:
    monkeypatch.setenv("BYLINE_FETCH_TIMEOUT", "1")
    with feed_server() as routes:
        routes.pages["/feed.xml"] = (200, "application/rss+xml", _rss(BRIDGE, MARKET))
        routes.pages["/page"] = (200, "text/html", PAGE_HTML.encode())
        routes.redirects["/moved"] = "/feed.xml"
        routes.redirects["/loop"] = "/loop"
        yield routes


def _report(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_build_from_a_feed_url_then_a_rebuild_adds_only_new_entries(
    server: Routes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    url = f"{server.base}/feed.xml"
    assert main(["build", url, "--index", str(index), "--json"]) == 0
    first = _report(capsys)
    assert first["articles"] == 2 and first["formats"]["feed"]["files"] == 1
    assert url in IndexDirectory(index).read_manifest()["sources"]
    (passage,) = retrieve("When does the stone bridge close?", k=1, index=index)
    assert passage.source == f"{url}#https://town.example/bridge"
    assert passage.published == "2024-07-01"

    # The feed moves on: the bridge story drops out of it, a new story arrives.
    server.pages["/feed.xml"] = (200, "application/rss+xml", _rss(MARKET, CHOIR))
    assert main(["build", "--index", str(index), "--json"]) == 0  # no paths: re-fetch
    second = _report(capsys)
    assert server.hits["/feed.xml"] == 2
    assert second["articles"] == 3  # the bridge story stays in the archive
    assert second["embedded"] == 1 and second["reused"] == 2 and second["removed"] == 0
    (passage,) = retrieve("Which choir won a prize?", k=1, index=index)
    assert passage.title == "Children's choir wins national prize"

    # Unchanged feed: nothing to embed.
    assert main(["build", "--index", str(index), "--json"]) == 0
    assert _report(capsys)["embedded"] == 0


def test_a_feed_url_and_a_folder_build_together_and_redirects_are_followed(
    server: Routes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "tunnel.html").write_text(PAGE_HTML, encoding="utf-8")
    index = tmp_path / "index"
    assert (
        main(["build", str(folder), f"{server.base}/moved", "--index", str(index), "--json"]) == 0
    )
    report = _report(capsys)
    assert report["articles"] == 3
    assert set(report["formats"]) == {"html", "feed"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "not an RSS or Atom feed (the answer is a web page)"),
        ("/missing.xml", "the server answered HTTP 404"),
        ("/loop", "more than 5 redirects"),
        ("/hang", "no complete answer within 1 s"),
    ],
)
def test_a_bad_feed_url_is_one_line_exit_1_and_changes_nothing(
    server: Routes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    message: str,
) -> None:
    server.hang_s = 2.5
    index = tmp_path / "index"
    assert main(["build", f"{server.base}/feed.xml", "--index", str(index)]) == 0
    current = IndexDirectory(index).current_name()
    manifest = IndexDirectory(index).read_manifest()
    capsys.readouterr()
    bad = f"{server.base}{path}"
    assert main(["build", bad, "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and bad in err, err
    assert "Traceback" not in err
    assert IndexDirectory(index).current_name() == current
    assert IndexDirectory(index).read_manifest() == manifest
    assert not stored_path(index, bad).exists()


def test_a_rebuild_keeps_the_stored_entries_when_the_feed_is_down(
    server: Routes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    assert main(["build", f"{server.base}/feed.xml", "--index", str(index)]) == 0
    server.pages["/feed.xml"] = (503, "text/plain", b"down")
    capsys.readouterr()
    assert main(["build", "--index", str(index), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["articles"] == 2
    assert "HTTP 503" in captured.err and "the entries fetched before are kept" in captured.err


def test_size_limit_and_endless_answers(server: Routes) -> None:
    with pytest.raises(FetchError, match="larger than"):
        fetch_bytes(f"{server.base}/page", max_bytes=1000)
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch_bytes(f"{server.base}/endless", max_bytes=2**20)


def test_private_addresses_are_refused_when_asked(server: Routes, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="refused.*loopback, private or link-local"):
        fetch_feed(f"{server.base}/feed.xml", tmp_path, public_only=True)
    assert server.hits.get("/feed.xml") is None  # refused before any request
    for url in (
        "http://10.1.2.3/feed",
        "http://192.168.0.1/feed",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/feed",
        "http://localhost:8080/feed",
        "http://0.0.0.0/feed",
    ):
        with pytest.raises(FetchError, match="--allow-private-urls"):
            check_public(url)
    check_public("http://93.184.215.14/feed")  # a public address literal: no lookup needed


def test_each_host_is_resolved_once_and_reached_at_the_checked_address(
    server: Routes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 first and an unreachable address after; the
    fetch must connect to the address it resolved (and checked), not resolve again."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.255.255.1", "10.255.255.1"])
    asked: list[str] = []

    def fake(host: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "feeds.example":
            return real(host, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    port = server.base.rsplit(":", 1)[1]
    body = fetch_bytes(f"http://feeds.example:{port}/feed.xml", timeout=2)
    assert b"Old bridge closes" in body
    assert asked == ["feeds.example"]
    with pytest.raises(FetchError, match="refused"):  # the same name, checked: refused
        fetch_bytes(f"http://feeds.example:{port}/feed.xml", timeout=2, public_only=True)
