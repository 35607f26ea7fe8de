"""A feed server for tests, on 127.0.0.1 only, started and stopped inside the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Routes:
    """path -> (status, content type, body); the test changes them between builds."""

    pages: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    hang_s: float = 3.0
    base: str = ""


@contextmanager
def feed_server() -> Iterator[Routes]:
    routes = Routes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            routes.hits[self.path] = routes.hits.get(self.path, 0) + 1
            if self.path in routes.redirects:
                self.send_response(302)
                self.send_header("Location", routes.redirects[self.path])
                self.end_headers()
                return
            if self.path == "/hang":  # accepts, then says nothing
                time.sleep(routes.hang_s)
                return
            if self.path == "/endless":  # a body with no end
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"<rss>" * 4096)
                except OSError:
                    return
            status, kind, body = routes.pages.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    routes.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield routes
    finally:
        server.shutdown()
        server.server_close()
