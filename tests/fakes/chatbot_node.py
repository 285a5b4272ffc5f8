"""A fake chatbot-node that behaves like the service as deployed (github.com/shygoly/chatbot-node).

What it copies from the real one, because the provider must cope with it:

* the chat routes check no token (a valid SSO JWT is still expected, and recorded, so tests can see
  it is signed; ``checks_tokens`` makes the routes refuse a bad one, as a gateway in front could);
* ``parseInt(userId)`` files the conversation: an id that is not a number becomes NULL, so every such
  visitor shares one conversation, and a number beyond the 32-bit column is a database error (500);
* a ``conversationId`` is looked up, and an unknown one ends the stream with an error event;
* with no ``botId`` Coze answers a JSON error the service does not read: it sends ``started`` and then
  nothing, holding the response open;
* a stream ends with ``completed`` and ``data: [DONE]``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import jwt

from tests.fakes.server import FakeHandler, FakeServer, Recorded, sse

#: The range of chatbot-node's ``inbox_user_id`` column (a PostgreSQL ``integer``).
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1


def js_parse_int(value: Any) -> int | None:
    """JavaScript's ``parseInt(value)`` (radix not given); None for NaN."""
    if isinstance(value, bool) or value is None:
        return None  # String(true) is "true", String(null) is "null": NaN
    text = str(value).lstrip(" \t\n\r\v\f\u00a0\ufeff")
    match = re.match(r"([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)", text)
    if match is None:
        return None
    sign, digits = match.groups()
    number = int(digits[2:], 16) if digits[:2].lower() == "0x" else int(digits)
    return -number if sign == "-" else number


class FakeChatbotNode(FakeServer):
    """``scenario`` picks the answer: normal, chinese, no_stream, 429, 500, error_event, cut, hang,
    long (waits for the client to hang up), close_delimited (a stream ended by closing the
    connection, as HTTP/1.0 would), coze_json (Coze answered JSON: ``started``, then silence, as with
    no bot id), health_down."""

    def __init__(self, secret: str, shop_id: str) -> None:
        super().__init__()
        self.secret = secret
        self.shop_id = shop_id
        self.scenario = "normal"
        self.reply = ["Hello", ", we ship ", "within 2 days."]
        #: Refuse requests whose token does not verify (the deployed service checks none).
        self.checks_tokens = False
        self.claims: list[dict] = []
        #: conversationId -> {"inboxUserId", "shopId", "botId"}, as its coze_conversations table.
        self.conversations: dict[str, dict[str, Any]] = {}
        #: (conversationId, inboxUserId, sender, content) as its chat history stores them.
        self.messages: list[tuple[str, int | None, str, str]] = []

    # -- what the service does ----------------------------------------------------------------------

    def _token_ok(self, request: Recorded) -> bool:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                self.secret,
                algorithms=["HS256"],
                audience="chatbot-node",
                issuer="shopsaas",
            )
        except jwt.PyJWTError as exc:
            self.problem(f"the SSO token does not verify: {exc}")
            return False
        self.claims.append(claims)
        if claims.get("shopId") != self.shop_id:
            self.problem(f"shopId claim {claims.get('shopId')!r}")
        if claims.get("role") == "admin":
            self.problem("the admin role was asked for")
        if claims["exp"] - claims["iat"] != 3600:
            self.problem("token lifetime is not one hour")
        return True

    def _conversation(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """chatbot-node's getByConversationId / getOrCreate(parseInt(userId), shopId, botId)."""
        conversation_id = body.get("conversationId")
        if conversation_id:
            found = self.conversations.get(conversation_id)
            return (conversation_id, found) if found is not None else None
        raw_user = body.get("userId")
        if not (isinstance(raw_user, str) and raw_user.isascii() and raw_user.isdigit()):
            self.problem(f"userId {raw_user!r} is not digits")
        user = js_parse_int(raw_user)
        if user is not None and not INT4_MIN <= user <= INT4_MAX:
            raise OverflowError(f"inbox_user_id {user} is out of range for type integer")
        with self.lock:
            for existing_id, row in self.conversations.items():
                if row["inboxUserId"] == user and row["shopId"] == body.get("shopId"):
                    return existing_id, row
            new_id = f"conv_{uuid.uuid4()}"
            row = {"inboxUserId": user, "shopId": body.get("shopId"), "botId": body.get("botId")}
            self.conversations[new_id] = row
            return new_id, row

    def conversation_of(self, user_id: str) -> str:
        """The conversation id chatbot-node filed ``user_id``'s messages under."""
        (found,) = [cid for cid, row in self.conversations.items() if row["inboxUserId"] == js_parse_int(user_id)]
        return found

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.path == "/health":
            if self.scenario == "health_down":
                handler.send_json(503, {"status": "error"})
            else:
                handler.send_json(200, {"status": "ok", "timestamp": "2026-01-01T00:00:00.000Z", "uptime": 3.5})
            return
        if request.path not in ("/api/coze/chat/stream", "/api/coze/chat") or (
            request.path == "/api/coze/chat/stream" and self.scenario == "no_stream"
        ):
            handler.send_json(404, {"error": "Not Found", "message": request.path, "statusCode": 404})
            return
        if self.scenario == "hang":
            handler.hang()
            return
        if not self._token_ok(request) and self.checks_tokens:
            handler.send_json(401, {"error": "Unauthorized", "message": "Invalid or expired token", "statusCode": 401})
            return
        if self.scenario == "429":
            handler.send_json(429, {"error": "Too many requests"}, {"Retry-After": "7"})
            return
        if self.scenario == "500":
            handler.send_json(500, {"error": "Internal Server Error"})
            return
        body = request.json or {}
        if body.get("shopId") != self.shop_id or not body.get("message"):
            self.problem(f"bad body {body!r}")
        try:
            found = self._conversation(body)
        except OverflowError as exc:
            handler.send_json(500, {"error": "Internal Server Error", "message": str(exc), "statusCode": 500})
            return
        if request.path == "/api/coze/chat":
            self.whole_reply(handler, body, found)
        else:
            self.chat_stream(handler, body, found)

    def whole_reply(self, handler: FakeHandler, body: dict[str, Any], found: tuple[str, dict] | None) -> None:
        if found is None:
            handler.send_json(404, {"error": "Conversation not found"})
            return
        conversation_id, row = found
        self._store(conversation_id, row, "user", body["message"])
        self._store(conversation_id, row, "bot", "".join(self.reply))
        handler.send_json(200, {"conversationId": conversation_id, "response": "".join(self.reply)})

    def _store(self, conversation_id: str, row: dict[str, Any], sender: str, content: str) -> None:
        with self.lock:
            self.messages.append((conversation_id, row["inboxUserId"], sender, content))

    def chat_stream(self, handler: FakeHandler, body: dict[str, Any], found: tuple[str, dict] | None) -> None:
        scenario = self.scenario
        if found is None:
            handler.start_stream()
            handler.write(b'data: {"event":"error","error":"Conversation not found"}\n\n')
            handler.end_stream()
            return
        conversation_id, row = found
        self._store(conversation_id, row, "user", body["message"])
        started = sse({"event": "started", "conversationId": conversation_id})
        if scenario == "coze_json" or not (row.get("botId") or body.get("botId")):
            # Coze answered JSON instead of a stream (no bot id, an expired token...): the service
            # reads only "data:" lines, finds none, and never ends the response.
            handler.start_stream()
            handler.write(started)
            handler.wait_for_client_to_leave()
            return
        messages = b"".join(sse({"event": "message", "content": part}) for part in self.reply)
        completed = sse(
            {
                "event": "completed",
                "conversationId": conversation_id,
                "usage": {"token_count": 30, "output_count": 10, "input_count": 20},
            }
        )
        if scenario == "close_delimited":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(started + messages)
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.start_stream()
        handler.write(started)
        if scenario == "error_event":
            handler.write(sse({"event": "message", "content": self.reply[0]}))
            handler.write(sse({"event": "error", "error": "Coze chat failed"}))
            handler.end_stream()
            return
        if scenario == "long":
            handler.write(sse({"event": "message", "content": self.reply[0]}))
            handler.wait_for_client_to_leave()
            return
        if scenario == "cut":
            handler.write(sse({"event": "message", "content": self.reply[0]}))
            handler.cut()
            return
        handler.write(messages, piece=2 if scenario == "chinese" else None)
        self._store(conversation_id, row, "bot", "".join(self.reply))
        handler.write(completed)
        handler.write(b"data: [DONE]\n\n")
        handler.end_stream()
