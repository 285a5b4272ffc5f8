"""A loopback HTTP server for provider tests: real sockets, real HTTP, scripted answers.

Each fake subclasses :class:`FakeServer` and implements ``handle(handler, request)``. The handler
helpers write what real services write: JSON bodies, chunked SSE streams (optionally a few bytes per
chunk, so a multi-byte character is split across reads), a connection cut mid-stream, and a server
that never answers until the test ends (``release`` is set at teardown).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    extra: dict[str, Any] = field(default_factory=dict)
    #: The client's (host, port): requests on one kept-alive connection share it.
    client: tuple[str, int] = ("", 0)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        fake = self.server.fake
        with fake.lock:
            fake.connections += 1

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = Recorded(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=self.client_address[:2],
        )
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(recorded)
        fake.handle(self, recorded)

    do_GET = do_POST = _dispatch

    # -- answers --------------------------------------------------------------------------------

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def start_stream(self, content_type: str = "text/event-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write(self, data: bytes | str, piece: int | None = None) -> None:
        """Send ``data`` as chunks of ``piece`` bytes (all at once when None), flushing each."""
        if isinstance(data, str):
            data = data.encode()
        size = piece or len(data) or 1
        for start in range(0, len(data), size):
            part = data[start : start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Drop the connection in the middle of the body, as a crashed upstream would."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def wait_for_client_to_leave(self) -> None:
        """Block until the client closes the connection (the request body was read already)."""
        with contextlib.suppress(OSError):
            self.rfile.read(1)
        self.server.fake.client_gone.set()
        self.close_connection = True

    def hang(self) -> None:
        """Never answer (until the test is over)."""
        self.server.fake.release.wait()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (a visitor pressed stop, an error was raised) hangs up on us;
        # that is the behaviour under test, not a failure of the fake.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """Start with ``with FakeX(...) as fake:``; ``fake.url`` is the base URL."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        #: TCP connections accepted: a client that keeps its connection alive opens one for many requests.
        self.connections = 0
        #: What the fake found wrong in what it was sent; tests assert it stays empty.
        self.problems: list[str] = []
        self.release = threading.Event()
        #: Set when a handler saw the client hang up (see ``wait_for_client_to_leave``).
        self.client_gone = threading.Event()
        self.lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        raise NotImplementedError

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    @property
    def host(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> FakeServer:
        self._server = _Server(("127.0.0.1", 0), FakeHandler)
        self._server.fake = self
        # A short poll interval keeps shutdown() (once per test) from waiting half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def sse(data: Any, event: str | None = None, *, space: bool = True) -> bytes:
    """One SSE event; ``data`` is JSON-encoded unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    sep = ": " if space else ":"
    lines = []
    if event is not None:
        lines.append(f"event{sep}{event}")
    lines.extend(f"data{sep}{line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()
