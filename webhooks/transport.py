"""One HTTP POST to a checked address: no redirects followed, one deadline, 1 KB kept.

Built on the standard library's ``http.client`` so that the socket connects
to the IP the SSRF guard approved while TLS still verifies the certificate
for the URL's host name (SNI and Host header use the name).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from webhooks.addresses import Target

RESPONSE_KEEP_BYTES = 1024


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    body: str
    duration_ms: int
    error: str = ""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._ip = target.ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._ip = target.ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _cut(conn: http.client.HTTPConnection) -> None:
    """The whole-request deadline: shut the socket so a blocked read returns at once."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            sock.shutdown(socket.SHUT_RDWR)


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST ``body``; network failures come back as a result with ``error``, never raised.

    ``timeout`` bounds the whole exchange — connect, send, status, headers and the
    1 KB kept — not each read, so an endpoint that drips its answer cannot hold a
    worker: past the deadline the socket is shut and the attempt is a timeout.
    """
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, timeout)
    started = time.monotonic()
    deadline = threading.Timer(timeout, _cut, args=(conn,))
    deadline.daemon = True
    deadline.start()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        kept = response.read(RESPONSE_KEEP_BYTES)
        if took() > timeout * 1000:
            return PostResult(status_code=None, body="", duration_ms=took(),
                              error=f"Timed out after {timeout:g} s")
        return PostResult(status_code=response.status,
                          body=kept.decode("utf-8", errors="replace"), duration_ms=took())
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout) or took() >= timeout * 1000:
            error = f"Timed out after {timeout:g} s"
        return PostResult(status_code=None, body="", error=error, duration_ms=took())
    finally:
        deadline.cancel()
        conn.close()
