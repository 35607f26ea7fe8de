"""Feed URLs: fetch a feed, check it is one, and keep its entries with the index.

``byline build https://news.example/feed.xml`` fetches the feed and stores its entries in
``INDEX/feeds/`` as an RSS file of their own; the URL goes into the manifest's ``sources``, so
a rebuild with no paths fetches it again. A feed lists only its latest entries, so the stored
file is merged, not replaced: entries seen before stay, changed ones are updated (matched by
their id or link), new ones are added, and the incremental build embeds only those.

Every failure (timeout, a body over ``MAX_FEED_BYTES``, more than ``MAX_REDIRECTS``
redirects, an HTTP error, an answer that is not a feed) is one FetchError line, raised before
anything is written. The UI passes ``public_only=True``: a URL whose host resolves to a
loopback, private, link-local or otherwise non-public address is refused, redirects included;
each host is resolved once and reached at the checked address (qa.ingest.formats.netguard). Proxies
from the environment are not used, for the same reason.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from qa.ingest.formats.netguard import (
    FetchError,
    PinnedHTTPHandler,
    PinnedHTTPSHandler,
    Pins,
    resolve,
)

FETCH_TIMEOUT_S = 20.0
MAX_FEED_BYTES = 20 * 2**20
MAX_REDIRECTS = 5
FEEDS_DIR = "feeds"
_USER_AGENT = "Byline feed reader"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"


def is_url(value: str | os.PathLike[str]) -> bool:
    return isinstance(value, str) and re.match(r"(?i)https?://", value) is not None


def feeds_dir(index: Path) -> Path:
    """Where the entries of an index's feed URLs are kept."""
    return Path(index) / FEEDS_DIR


def stored_path(index: Path, url: str) -> Path:
    host = re.sub(r"[^a-z0-9.-]+", "-", urllib.parse.urlsplit(url).hostname or "feed")[:60]
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return feeds_dir(index) / f"{host}-{digest}.rss"


def check_public(url: str) -> None:
    """FetchError unless every address the URL's host resolves to is a public one."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise FetchError(f"{url}: not a URL with a host; give one like https://news.example/feed")
    try:
        resolve(host, public_only=True)
    except FetchError as error:
        raise FetchError(f"{url}: {error}") from None


class _Redirects(urllib.request.HTTPRedirectHandler):
    """At most MAX_REDIRECTS, to http(s) only; where they lead is checked when they connect."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if not is_url(newurl):
            raise FetchError(f"{req.full_url}: redirected to {newurl!r}, which is not http(s)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_bytes(
    url: str,
    *,
    timeout: float | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    public_only: bool = False,
) -> bytes:
    """The body at ``url``: ``timeout`` seconds in all (not per read, so a server that
    trickles bytes is cut off too; default ``$BYLINE_FETCH_TIMEOUT`` or 20), at most
    ``max_bytes``, at most MAX_REDIRECTS redirects."""
    if timeout is None:
        timeout = _env_timeout()
    if not is_url(url):
        raise FetchError(f"{url!r} is not an http(s) URL; give one like https://news.example/feed")
    pins = Pins(public_only)  # resolves, checks and pins each host as it connects
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        PinnedHTTPHandler(pins),
        PinnedHTTPSHandler(pins),
        _Redirects(),
    )
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    deadline = time.monotonic() + timeout
    late = f"{url}: no complete answer within {timeout:g} s; try again later"
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(_too_big(url, max_bytes))
            body = bytearray()
            while chunk := response.read(2**16):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(_too_big(url, max_bytes))
                if time.monotonic() > deadline:
                    raise FetchError(late)
    except FetchError as error:  # ours, from the body checks or from netguard's pins
        message = str(error)
        raise FetchError(message if message.startswith(url) else f"{url}: {message}") from None
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            why = f"more than {MAX_REDIRECTS} redirects"
        else:
            why = f"the server answered HTTP {error.code} {error.reason}"
        raise FetchError(f"{url}: {why}; check the feed's address") from None
    except TimeoutError:
        raise FetchError(late) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise FetchError(late) from None
        raise FetchError(f"{url}: cannot fetch it ({reason}); check the address") from None
    except (OSError, ValueError) as error:  # connection reset, a malformed answer...
        raise FetchError(f"{url}: cannot fetch it ({error}); check the address") from None
    return bytes(body)


def _env_timeout() -> float:
    value = os.environ.get("BYLINE_FETCH_TIMEOUT", "")
    try:
        return float(value) if value else FETCH_TIMEOUT_S
    except ValueError:
        raise FetchError(
            f"BYLINE_FETCH_TIMEOUT={value!r} is not a number of seconds; e.g. 20"
        ) from None


def _too_big(url: str, max_bytes: int) -> str:
    return f"{url}: refused, the answer is larger than {max_bytes / 2**20:g} MB; not a news feed"


@dataclass(frozen=True)
class _Entry:
    key: str
    title: str
    link: str
    published: datetime | None
    content: str
    author: str = ""


def _entries(data: bytes) -> list[_Entry]:
    import feedparser

    parsed = feedparser.parse(bytes(data), resolve_relative_uris=False)
    entries = []
    for number, entry in enumerate(parsed.get("entries") or [], start=1):
        link = entry.get("link") or ""
        contents = [c.get("value", "") for c in entry.get("content") or []]
        content = max(contents, key=len, default="") or entry.get("summary") or ""
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        key = entry.get("id") or link or f"{entry.get('title', '')}#{number}"
        title, author = entry.get("title") or "", entry.get("author") or ""
        entries.append(_Entry(key, title, link, published, content, author))
    return entries


def _write_rss(path: Path, url: str, entries: Sequence[_Entry]) -> None:
    ET.register_namespace("content", _CONTENT)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = url
    ET.SubElement(channel, "link").text = url
    for entry in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = entry.title
        if entry.link:
            ET.SubElement(item, "link").text = entry.link
        ET.SubElement(item, "guid", isPermaLink="false").text = entry.key
        if entry.author:
            ET.SubElement(item, "author").text = entry.author
        if entry.published is not None:
            ET.SubElement(item, "pubDate").text = format_datetime(entry.published, usegmt=True)
        ET.SubElement(item, f"{{{_CONTENT}}}encoded").text = entry.content
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a crash never leaves half a feed to index.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".feed-", delete=False) as out:
        ET.ElementTree(rss).write(out, encoding="utf-8", xml_declaration=True)
    os.replace(out.name, path)


def fetch_feed(url: str, index: Path, *, public_only: bool = False, **limits: Any) -> Path:
    """Fetch the feed at ``url`` and merge its entries into the index's stored copy; the
    stored file's path. FetchError (and nothing written) when it fails or is not a feed."""
    data = fetch_bytes(url, public_only=public_only, **limits)
    fresh = _entries(data)
    if not fresh:
        head = data[:200].decode("utf-8", "replace").lower()
        what = "a web page" if "<html" in head else "no feed entries"
        raise FetchError(
            f"{url}: not an RSS or Atom feed (the answer is {what}); give the feed's own "
            "address, often ending in /feed, /rss or .xml"
        )
    target = stored_path(index, url)
    merged = {
        entry.key: entry for entry in (_entries(target.read_bytes()) if target.exists() else [])
    }
    merged.update({entry.key: entry for entry in fresh})
    _write_rss(target, url, list(merged.values()))
    return target
