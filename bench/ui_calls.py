"""What the browser does when someone uses the archive tab, over HTTP on loopback: upload files
(``POST /gradio_api/upload``), then run an event of the page (``POST /gradio_api/queue/join``
with its ``fn_index``, then the session's event stream ``GET /gradio_api/queue/data``).

The archive tab's rebuild is not a public API endpoint (Gradio's clients cannot call it), so a
test or benchmark that rebuilds "from the UI" has to make the browser's own calls; these are
they, with the standard library only.
"""

from __future__ import annotations

import json
import mimetypes
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _post(url: str, body: bytes, content_type: str, timeout: float) -> Any:
    request = urllib.request.Request(url, body, {"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read().decode("utf-8"))


def upload(url: str, files: Sequence[Path], timeout: float = 60) -> list[dict[str, Any]]:
    """Upload ``files`` as the file box does; the gr.File values that name them."""
    boundary = uuid.uuid4().hex
    parts = []
    for path in files:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{path.name}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
            + path.read_bytes()
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    stored = _post(
        url.rstrip("/") + "/gradio_api/upload",
        body,
        f"multipart/form-data; boundary={boundary}",
        timeout,
    )
    return [
        {"path": path, "orig_name": source.name, "meta": {"_type": "gradio.FileData"}}
        for path, source in zip(stored, files, strict=True)
    ]


def event_of(url: str, api_name: str, timeout: float = 30) -> tuple[int, int | None]:
    """(fn_index, trigger component id) of the page's event named ``api_name``."""
    with urllib.request.urlopen(url.rstrip("/") + "/config", timeout=timeout) as reply:
        config = json.loads(reply.read().decode("utf-8"))
    for dependency in config["dependencies"]:
        if dependency.get("api_name") == api_name:
            targets = dependency.get("targets") or [[None]]
            return int(dependency["id"]), targets[0][0]
    raise LookupError(f"the page at {url} has no event named {api_name!r}")


def start_event(url: str, api_name: str, data: list[Any], timeout: float = 30) -> str:
    """Queue the page's event ``api_name`` with input values ``data``, as a click does; the
    session id whose stream (``finish_event``) reports it. Returns once it is queued."""
    fn_index, trigger = event_of(url, api_name, timeout)
    session = uuid.uuid4().hex[:11]
    body = {
        "data": data,
        "event_data": None,
        "fn_index": fn_index,
        "trigger_id": trigger,
        "session_hash": session,
    }
    _post(
        url.rstrip("/") + "/gradio_api/queue/join",
        json.dumps(body).encode("utf-8"),
        "application/json",
        timeout,
    )
    return session


def finish_event(url: str, session: str, timeout: float = 600) -> list[Any]:
    """The output values of the event queued for ``session``, once it completes;
    RuntimeError if it fails or the stream ends first."""
    deadline = time.monotonic() + timeout
    stream_url = f"{url.rstrip('/')}/gradio_api/queue/data?session_hash={session}"
    with urllib.request.urlopen(stream_url, timeout=timeout) as stream:
        for raw in stream:
            if time.monotonic() > deadline:
                break
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                if not message.get("success"):
                    raise RuntimeError(f"the event failed: {json.dumps(message)[:300]}")
                return list(message["output"]["data"])
            if message.get("msg") == "close_stream":
                break
    raise RuntimeError(f"no result for session {session} within {timeout:.0f} s")
