"""Connect only to the address that was checked.

A check of a URL's host followed by a connection that resolves the name again can be fooled:
the name may resolve to a public address for the check and to 127.0.0.1 for the connection
(DNS rebinding). So a fetch resolves each host once, checks those addresses (with
``public_only``: loopback, private, link-local, multicast and reserved ones are refused) and
connects to the checked address itself; TLS still verifies the certificate for the host name.
Redirects to another host go through the same step when they connect.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any

from qa.errors import CorpusError


class FetchError(CorpusError):
    """A feed URL that could not be fetched or is not a feed; nothing was changed."""


def _refused(host: str, address: str) -> FetchError:
    return FetchError(
        f"refused, {host!r} is a loopback, private or link-local address ({address}); the "
        "server does not fetch from its own network. The operator can allow it with "
        "`byline serve --allow-private-urls`"
    )


def resolve(host: str, public_only: bool) -> str:
    """The address to connect to for ``host``; FetchError when it cannot be resolved, or
    (``public_only``) when any address it has is not a public one."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"cannot resolve {host!r} ({error}); check the address") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve {host!r}; check the address")
    if public_only:
        for address in addresses:
            parsed = ipaddress.ip_address(address)
            if not parsed.is_global or parsed.is_multicast:
                raise _refused(host, address)
    return addresses[0]


class Pins:
    """Host -> the one checked address it is reached at, for the length of one fetch."""

    def __init__(self, public_only: bool) -> None:
        self.public_only = public_only
        self._addresses: dict[str, str] = {}

    def address(self, host: str) -> str:
        if host not in self._addresses:
            self._addresses[host] = resolve(host, self.public_only)
        return self._addresses[host]

    def connection(self, cls: type[http.client.HTTPConnection], host: str, **kw: Any) -> Any:
        """``cls(host)`` whose socket goes to the pinned address of its host."""
        conn = cls(host, **kw)
        pinned = self.address(conn.host)

        def connect(address: tuple[str, int], *args: Any) -> socket.socket:
            return socket.create_connection((pinned, address[1]), *args)

        conn._create_connection = connect  # type: ignore[attr-defined]
        return conn


class PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pins: Pins) -> None:
        super().__init__()
        self.pins = pins

    def http_open(self, req: Any) -> Any:
        return self.do_open(
            lambda host, **kw: self.pins.connection(http.client.HTTPConnection, host, **kw), req
        )


class PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pins: Pins) -> None:
        super().__init__()
        self.pins = pins

    def https_open(self, req: Any) -> Any:
        return self.do_open(
            lambda host, **kw: self.pins.connection(http.client.HTTPSConnection, host, **kw),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )
