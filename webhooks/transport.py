"""One HTTP POST to a checked address: no redirects followed, one deadline, 1 KB kept,
and the connection kept open for the next delivery to the same host and address.

Built on the standard library's ``http.client`` so that the socket connects
to the IP the SSRF guard approved while TLS still verifies the certificate
for the URL's host name (SNI and Host header use the name).

Keep-alive: each worker process keeps idle connections keyed by scheme, host
name, port *and* the IP the guard approved for this send. The guard runs
before every send as before; a kept connection is only used when its IP is
the one just approved (a name that now resolves elsewhere gets a new
connection to the new, checked address, or no request at all if refused),
and only for the host name its certificate was verified for. A connection
the endpoint closed while idle is noticed before use; if a kept connection
fails before any answer, the request is sent once more on a new one (a
receiver may see it twice: deliveries are at least once, by event id).
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import os
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from webhooks.addresses import Target

RESPONSE_KEEP_BYTES = 1024
IDLE_SECONDS = 30.0  # an idle connection older than this is closed, not used
IDLE_PER_PROCESS = 64


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
        # Headers and body leave in separate writes: no waiting for the previous ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._ip = target.ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


Key = tuple[str, str, int, str]


def _key(target: Target) -> Key:
    return (target.scheme, target.host.lower(), target.port, target.ip)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when the peer closed (or wrote to) an idle connection: it cannot take a request."""
    if conn.sock is None:
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(0))


class _IdleConnections:
    """This process's idle connections, most recently used first, at most
    ``IDLE_PER_PROCESS`` of them; safe to share between threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: OrderedDict[tuple[Key, int], tuple[http.client.HTTPConnection, float]] = (
            OrderedDict())

    def take(self, key: Key) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                slot = next((s for s in reversed(self._idle) if s[0] == key), None)
                if slot is None:
                    return None
                conn, since = self._idle.pop(slot)
            if now - since < IDLE_SECONDS and not _dropped(conn):
                return conn
            conn.close()

    def give(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle[(key, id(conn))] = (conn, time.monotonic())
            oldest = (self._idle.popitem(last=False)[1][0]
                      if len(self._idle) > IDLE_PER_PROCESS else None)
        if oldest is not None:
            oldest.close()

    def close_all(self) -> None:
        with self._lock:
            conns = [conn for conn, _ in self._idle.values()]
            self._idle.clear()
        for conn in conns:
            conn.close()


idle_connections = _IdleConnections()


class _Deadline:
    """The whole-request deadline: past it, shut the socket so a blocked read returns
    at once. Once :meth:`stop` says the deadline was not reached, it never will be."""

    def __init__(self, timeout: float):
        self._lock = threading.Lock()
        self.stopped = self.expired = False
        self.conn: http.client.HTTPConnection | None = None
        self.at = time.monotonic() + timeout
        _watchdog.watch(self)

    def cut(self) -> None:
        with self._lock:
            if self.stopped:
                return
            self.expired = True
            sock = self.conn.sock if self.conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to cut
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> bool:
        """Disarm; True when the request finished before the deadline."""
        with self._lock:
            self.stopped = True
            return not self.expired


class _Watchdog:
    """One thread per process cuts the requests that pass their deadline.

    A timer thread per request cost more than the request itself: starting a
    thread waits until it runs, which on a busy machine is a scheduler's turn.
    """

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # threads do not survive a fork

    def _reset(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleeping_until: float | None = None  # None: until told

    def watch(self, deadline: _Deadline) -> None:
        with self._wake:
            while self._heap and self._heap[0][2].stopped:
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-deadlines",
                                                daemon=True)
                self._thread.start()
            # Deadlines mostly come in order: the thread is woken only for an earlier one.
            if self._sleeping_until is None or deadline.at < self._sleeping_until:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while True:
                    while self._heap and self._heap[0][2].stopped:
                        heapq.heappop(self._heap)
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._sleeping_until = self._heap[0][0] if self._heap else None
                    self._wake.wait(self._heap[0][0] - now if self._heap else None)
                    self._sleeping_until = None
            due.cut()


_watchdog = _Watchdog()


def _exchange(conn: http.client.HTTPConnection, target: Target, body: bytes,
              headers: dict[str, str]) -> tuple[int, bytes, bool]:
    """Send and read up to 1 KB; also whether the connection may carry another request
    (the answer was read to its end and the endpoint did not ask to close)."""
    conn.request("POST", target.path, body=body, headers=headers)
    response = conn.getresponse()
    kept = response.read(RESPONSE_KEEP_BYTES)
    return response.status, kept, response.isclosed() and conn.sock is not None


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST ``body``; network failures come back as a result with ``error``, never raised.

    ``timeout`` bounds the whole exchange — connect, send, status, headers and the
    1 KB kept — not each read, so an endpoint that drips its answer cannot hold a
    worker: past the deadline the socket is shut and the attempt is a timeout.
    """
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    key = _key(target)
    started = time.monotonic()
    deadline = _Deadline(timeout)

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    conn = idle_connections.take(key)
    reused = conn is not None
    reusable = False
    try:
        if conn is None:
            conn = cls(target, timeout)
        else:
            conn.sock.settimeout(timeout)
        deadline.conn = conn
        try:
            status, kept, reusable = _exchange(conn, target, body, headers)
        except ConnectionError:
            if not reused or deadline.expired:
                raise
            conn.close()  # closed by the endpoint as we sent: once more on a new one
            conn = deadline.conn = cls(target, timeout)
            status, kept, reusable = _exchange(conn, target, body, headers)
        if not deadline.stop() or took() > timeout * 1000:
            reusable = False
            return PostResult(status_code=None, body="", duration_ms=took(),
                              error=f"Timed out after {timeout:g} s")
        return PostResult(status_code=status, body=kept.decode("utf-8", errors="replace"),
                          duration_ms=took())
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout) or took() >= timeout * 1000:
            error = f"Timed out after {timeout:g} s"
        return PostResult(status_code=None, body="", error=error, duration_ms=took())
    finally:
        deadline.stop()
        if conn is not None:
            if reusable:
                idle_connections.give(key, conn)
            else:
                conn.close()
