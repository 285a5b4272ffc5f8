"""``chatbot.asgi``: the ASGI application ``make demo`` serves, driven through the ASGI protocol itself
(scope, receive, send), with the demo site behind it.

Pages come back whole from one trip to a thread; a chat reply streams from the event loop, and a
visitor who disconnects ends it; the WSGI environ is built as a WSGI server builds it (headers with
underscores dropped, cookies joined, a chunked body's length known).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from chatbot.asgi import asgi_application
from chatbot.models import Message
from tests import providers
from tests.conftest import parse_sse, reply_text

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30.0  # an upper bound for a broken test, never a pacing delay


class Client:
    """One ASGI HTTP request: the body is sent at once, then ``disconnect`` (an asyncio event) decides
    when the client hangs up; every message the application sends is kept."""

    def __init__(self, app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""):
        self.app = app
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path.split("?")[0],
            "raw_path": path.split("?")[0].encode(),
            "query_string": path.partition("?")[2].encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("203.0.113.9", 50000),
            "server": ("testserver", 80),
        }
        self.body = body
        self.sent: list[dict[str, Any]] = []
        self.disconnect = asyncio.Event()
        self.chunk = asyncio.Event()
        self._body_sent = False

    async def receive(self) -> dict[str, Any]:
        if not self._body_sent:
            self._body_sent = True
            # In two parts, as a chunked upload arrives.
            half = len(self.body) // 2
            return {"type": "http.request", "body": self.body[:half], "more_body": True}
        if self.body is not None:
            rest, self.body = self.body[len(self.body) // 2 :], None  # type: ignore[assignment]
            return {"type": "http.request", "body": rest, "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body":
            self.chunk.set()
            if not message.get("more_body"):
                self.disconnect.set()  # the response is over: the server reports the connection gone

    async def run(self) -> None:
        await asyncio.wait_for(self.app(self.scope, self.receive, self.send), WAIT)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def content(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


@pytest.fixture(scope="module")
def app():
    return asgi_application(threads=4)


def chat_post(
    app: Any, text: str, *, csrf_header: bytes = b"x-csrftoken", cookies: list[bytes] | None = None
) -> Client:
    token = secrets.token_hex(16)
    body = json.dumps({"text": text}).encode()
    headers = [(b"content-type", b"application/json"), (csrf_header, token.encode())]
    # No content-length: the body arrives chunked.
    for cookie in cookies if cookies is not None else [f"csrftoken={token}".encode()]:
        headers.append((b"cookie", cookie.replace(b"TOKEN", token.encode())))
    return Client(app, "POST", "/api/chatbot/messages", headers, body)


def test_a_page_comes_back_whole(app, catalogue):
    client = Client(app, "GET", "/api/chatbot/health", [])
    async_to_sync(client.run)()
    assert client.status == 200
    assert client.headers[b"content-type"] == b"application/json"
    assert json.loads(client.content)["status"] in ("ok", "degraded")
    assert [m["more_body"] for m in client.sent[1:]] == [False], "one body message"


def test_a_unicode_path_and_query_reach_django_as_sent(app, catalogue):
    # WSGI carries the path's UTF-8 bytes as latin-1 text: a path outside latin-1 passed as it is would
    # fail in Django instead of being routed.
    missing = Client(app, "GET", "/catalogue/茶壶/", [])
    async_to_sync(missing.run)()
    assert missing.status == 404
    search = Client(app, "GET", "/search/?q=%E8%8C%B6%E5%A3%B6", [])
    async_to_sync(search.run)()
    assert search.status == 200
    assert "茶壶" in search.content.decode()


def test_a_reply_streams_from_the_loop_with_a_chunked_body_and_joined_cookies(app, catalogue):
    # The session cookie and the CSRF cookie in two Cookie headers, as HTTP/2 clients send them.
    client = chat_post(app, "ceramic teapot", cookies=[b"csrftoken=TOKEN", b"chatbot_probe=1"])
    async_to_sync(client.run)()
    assert client.status == 200, client.content
    assert client.headers[b"content-type"].startswith(b"text/event-stream")
    assert len(client.sent) > 3, "the reply arrived in pieces"
    events = parse_sse(client.content)
    assert events[0][0] == "message" and events[-1][0] == "done"
    assert "Ceramic Teapot" in reply_text(events)
    assert Message.objects.get(role="assistant").status == "done"


def test_a_header_written_with_underscores_is_not_taken_for_the_real_one(app, catalogue):
    client = chat_post(app, "hello", csrf_header=b"x_csrftoken")
    async_to_sync(client.run)()
    assert client.status == 403
    assert not Message.objects.exists()


def test_a_visitor_who_disconnects_stops_the_reply_and_keeps_what_was_said(app, settings):
    gate = providers.GATE = providers.Gate()
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.GatedProvider"}
    client = chat_post(app, "tell me a story")

    async def converse() -> None:
        running = asyncio.ensure_future(client.run())
        while b"Hello" not in client.content:
            client.chunk.clear()
            await asyncio.wait_for(client.chunk.wait(), WAIT)
        client.disconnect.set()
        gate.release.set()
        await running

    try:
        async_to_sync(converse)()
    finally:
        gate.release.set()
    reply = Message.objects.get(role="assistant")
    assert reply.status == Message.Status.STOPPED
    assert reply.text.startswith("Hello")
    assert len(reply.text.split()) < 201, "the reply was cut short, not completed"
    assert gate.closed.wait(WAIT), "the provider's stream was closed"


def test_lifespan_starts_and_stops(app):
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async_to_sync(asgi_application(threads=1))({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
