"""A fake of the "Acme assistant API" that docs/adding-a-provider.md writes its example provider for.

``POST /v1/chat`` with ``{user, text, thread}`` and ``Authorization: Bearer <key>`` streams SSE
events: ``{"thread": ...}`` first, then ``{"text": ...}`` pieces (a few bytes per chunk, so a
Chinese character is split across reads), then ``[DONE]``. ``GET /v1/ping`` answers ``{"ok": true}``.
"""

from __future__ import annotations

from tests.fakes.server import FakeHandler, FakeServer, Recorded, sse


class FakeAcme(FakeServer):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        #: The text pieces of every answer.
        self.pieces = ["Hello", " from ", "Acme 你好"]

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            handler.send_json(401, {"error": "bad key"})
        elif request.method == "GET" and request.path == "/v1/ping":
            handler.send_json(200, {"ok": True})
        elif request.method == "POST" and request.path == "/v1/chat":
            body = request.json or {}
            if not body.get("user") or not body.get("text"):
                self.problem(f"a chat without user or text: {body}")
            thread = body.get("thread") or f"thread-{len(self.requests)}"
            handler.start_stream()
            handler.write(sse({"thread": thread}))
            for piece in self.pieces:
                handler.write(sse({"text": piece}), piece=5)
            handler.write(sse("[DONE]"))
            handler.end_stream()
        else:
            handler.send_json(404, {"error": "not found"})
