"""The benchmark's /ask client reads Gradio's event stream as a server sends it: an answer
that takes more than 15 s comes after heartbeat events, and is an answer, not an error (on a
loaded machine the kill and soak runs counted slow answers as failures)."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator

import pytest

from bench.load_client import ask_http


def _server(stream: str) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            self._reply(b'{"event_id": "e1"}', "application/json")

        def do_GET(self) -> None:  # noqa: N802
            self._reply(stream.encode(), "text/event-stream")

        def _reply(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _ask(stream: str) -> dict:
    for port in _server(stream):
        return ask_http(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "q")
    raise AssertionError("unreachable")


def test_answer_after_heartbeats_is_an_answer() -> None:
    stream = (
        "event: heartbeat\ndata: null\n\nevent: heartbeat\ndata: null\n\n"
        'event: complete\ndata: [{"question": "q", "note": "a: b"}]\n\n'
    )
    assert _ask(stream) == {"question": "q", "note": "a: b"}


def test_error_event_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="/ask failed"):
        _ask('event: heartbeat\ndata: null\n\nevent: error\ndata: "no index"\n\n')
