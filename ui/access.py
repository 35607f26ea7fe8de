"""Who may change the archive from the browser.

On this computer only (``byline serve`` on a loopback address) the archive tab is open, as
before. Listening beyond it, anyone who reaches the port could upload files, make the server
fetch URLs and start rebuilds, so the tab then needs ``BYLINE_ADMIN_PASSWORD``; without one it
is read-only and says why. The chat stays open either way. The check runs in the event
handler on the server, not only in the page, so calling the app's endpoints directly does not
bypass it.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

PASSWORD_VARIABLE = "BYLINE_ADMIN_PASSWORD"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; 0.0.0.0 (every address) is not."""
    if host.strip().lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@dataclass(frozen=True)
class ArchiveAccess:
    """The archive tab's rule, fixed when the server starts.

    ``password``: asked before any change when set. ``read_only``: why changes are refused
    outright (None: they are not). ``allow_private_urls``: feed URLs may point at loopback,
    private and link-local addresses (the operator's flag; off by default).
    """

    password: str | None = None
    read_only: str | None = None
    allow_private_urls: bool = False

    @classmethod
    def for_host(
        cls, host: str, password: str | None, *, allow_private_urls: bool = False
    ) -> ArchiveAccess:
        password = password or None
        if password is None and not is_loopback(host):
            reason = (
                f"The archive is read-only here: the server listens on {host}, beyond this "
                f"computer, and no admin password is set. To add files or feeds from the "
                f"browser, restart it with {PASSWORD_VARIABLE} set, or serve on 127.0.0.1."
            )
            return cls(read_only=reason, allow_private_urls=allow_private_urls)
        return cls(password=password, allow_private_urls=allow_private_urls)

    def refusal(self, given: str | None) -> str | None:
        """Why a change is refused, or None when it may go ahead."""
        if self.read_only is not None:
            return self.read_only
        if self.password is None:
            return None
        # Constant time: how much of a guess was right must not show in the answer's timing.
        if hmac.compare_digest((given or "").encode("utf-8"), self.password.encode("utf-8")):
            return None
        return "Wrong or missing admin password; nothing was changed. Enter the password above."
