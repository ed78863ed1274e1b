"""A real HTTP receiver on 127.0.0.1 for webhook tests, scripted per path.

``receiver.script("/hooks", [500, 500, 200])`` answers the next requests to
``/hooks`` with those statuses (then 200); a step may be a dict with
``status``, ``sleep`` (seconds) and ``location`` (for redirects), or
``"drop"``: read the request and close the connection without an answer.

``Receiver(keep_alive=True)`` speaks HTTP/1.1 and keeps connections open, as
most real receivers do; ``connections`` counts the TCP connections accepted.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)


class Receiver:
    def __init__(self, *, keep_alive: bool = False):
        self.requests: list[Received] = []
        self.connections = 0
        self.scripts: dict[str, list] = defaultdict(list)
        self.default_sleep = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self):
                super().setup()
                # The answer leaves as headers, then body: no 40 ms wait on a kept connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    steps = receiver.scripts[self.path]
                    step = steps.pop(0) if steps else 200
                if step == "drop":
                    self.close_connection = True
                    return
                step = step if isinstance(step, dict) else {"status": step}
                time.sleep(step.get("sleep", receiver.default_sleep))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                try:
                    self.send_response(step["status"])
                    if step.get("location"):
                        self.send_header("Location", step["location"])
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up (timeout) first

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def script(self, path: str, steps: list) -> None:
        with self.lock:
            self.scripts[path] = list(steps)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def event_ids(self, path: str) -> set[str]:
        return {r.headers["Duro-Event-Id"] for r in self.at(path)}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
