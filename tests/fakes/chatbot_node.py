"""A fake chatbot-node: verifies the SSO JWT and speaks its SSE and JSON chat endpoints."""

from __future__ import annotations

import jwt

from tests.fakes.server import FakeHandler, FakeServer, Recorded, sse


class FakeChatbotNode(FakeServer):
    """``scenario`` picks the answer: normal, chinese, no_stream, 429, 500, error_event, cut, hang,
    long (waits for the client to hang up), close_delimited (a stream ended by closing the
    connection, as HTTP/1.0 would), health_down."""

    def __init__(self, secret: str, shop_id: str) -> None:
        super().__init__()
        self.secret = secret
        self.shop_id = shop_id
        self.scenario = "normal"
        self.reply = ["Hello", ", we ship ", "within 2 days."]
        self.conversation_id = "conv-42"
        self.claims: list[dict] = []

    def _authorised(self, handler: FakeHandler, request: Recorded) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            self.problem("no bearer token")
            handler.send_json(401, {"error": "Unauthorized"})
            return False
        try:
            claims = jwt.decode(
                header[7:], self.secret, algorithms=["HS256"], audience="chatbot-node", issuer="shopsaas"
            )
        except jwt.PyJWTError as exc:
            handler.send_json(401, {"error": f"Unauthorized: {exc}"})
            return False
        self.claims.append(claims)
        if claims.get("shopId") != self.shop_id:
            self.problem(f"shopId claim {claims.get('shopId')!r}")
        if claims.get("role") == "admin":
            self.problem("the admin role was asked for")
        if claims["exp"] - claims["iat"] != 3600:
            self.problem("token lifetime is not one hour")
        body = request.json or {}
        if body.get("shopId") != self.shop_id or not body.get("message") or not body.get("userId"):
            self.problem(f"bad body {body!r}")
        return True

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.path == "/health":
            if self.scenario == "health_down":
                handler.send_json(503, {"status": "error"})
            else:
                handler.send_json(200, {"status": "ok", "timestamp": "2026-01-01T00:00:00.000Z", "uptime": 3.5})
            return
        if request.path == "/api/coze/chat/stream":
            self.chat_stream(handler, request)
        elif request.path == "/api/coze/chat":
            if not self._authorised(handler, request):
                return
            handler.send_json(200, {"conversationId": self.conversation_id, "response": "".join(self.reply)})
        else:
            handler.send_json(404, {"error": "Not Found", "message": request.path, "statusCode": 404})

    def chat_stream(self, handler: FakeHandler, request: Recorded) -> None:
        scenario = self.scenario
        if scenario == "no_stream":
            handler.send_json(404, {"error": "Not Found", "statusCode": 404})
            return
        if scenario == "hang":
            handler.hang()
            return
        if not self._authorised(handler, request):
            return
        if scenario == "429":
            handler.send_json(429, {"error": "Too many requests"}, {"Retry-After": "7"})
            return
        if scenario == "500":
            handler.send_json(500, {"error": "Internal Server Error"})
            return
        started = sse({"event": "started", "conversationId": self.conversation_id})
        messages = b"".join(sse({"event": "message", "content": part}) for part in self.reply)
        completed = sse(
            {
                "event": "completed",
                "conversationId": self.conversation_id,
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
        handler.write(completed)
        handler.write(b"data: [DONE]\n\n")
        handler.end_stream()
