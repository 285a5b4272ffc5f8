"""A fake Coze API: the OAuth JWT token exchange (RS256 checked with the public key), conversation
creation, the v3 chat stream in Coze's exact framing, chat cancel and the conversation list."""

from __future__ import annotations

import time

import jwt

from tests.fakes.server import FakeHandler, FakeServer, Recorded, sse

BOT_ID = "7379462189365198898"
CONVERSATION_ID = "7381473525342978089"
CHAT_ID = "7382159487131697202"


def _chat(status: str, **extra) -> dict:
    return {
        "id": CHAT_ID,
        "conversation_id": CONVERSATION_ID,
        "bot_id": BOT_ID,
        "status": status,
        "last_error": {"code": 0, "msg": ""},
        "usage": {"token_count": 0, "output_count": 0, "input_count": 0},
        **extra,
    }


def _message(kind: str, content: str, role: str = "assistant") -> dict:
    return {
        "id": "7382159494123470858",
        "conversation_id": CONVERSATION_ID,
        "bot_id": BOT_ID,
        "chat_id": CHAT_ID,
        "role": role,
        "type": kind,
        "content": content,
        "content_type": "text",
    }


class FakeCoze(FakeServer):
    """``scenario``: normal, chinese, json_error (a ``{code,msg}`` body instead of a stream), 429, 500,
    failed (conversation.chat.failed), error_event, busy (error event 4016), cut, hang, long."""

    def __init__(self, public_key, client_id: str = "1170000000001", key_id: str = "kid-fingerprint") -> None:
        super().__init__()
        self.public_key = public_key
        self.client_id = client_id
        self.key_id = key_id
        self.pat: str | None = None
        self.scenario = "normal"
        self.reply = ["2024 年 10 月 1 日", "是星期三。"]
        self.follow_ups = ["How long is delivery?", "Can I return it?"]
        self.tokens: dict[str, float] = {}
        self.jtis: set[str] = set()
        self.token_lifetime = 900
        self.conversations: list[str] = []
        #: Issue tokens but refuse them all, like a JWT app whose permissions were withdrawn.
        self.reject_tokens = False

    # -- authentication -------------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def _issue(self, handler: FakeHandler, request: Recorded) -> None:
        header = request.headers.get("authorization", "")
        assertion = header.removeprefix("Bearer ")
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
                raise jwt.InvalidTokenError("kid not been registred")
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=self.host,
                issuer=self.client_id,
                options={"require": ["iat", "exp", "jti", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            handler.send_json(401, {"error_code": "invalid_client", "error_message": f"invalid jwt: {exc}"})
            return
        if claims["jti"] in self.jtis:
            self.problem("a JWT was reused")
        self.jtis.add(claims["jti"])
        body = request.json or {}
        if body.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self.problem(f"grant type {body.get('grant_type')!r}")
        token = f"czs_{len(self.jtis)}"
        # Coze's expires_in is an absolute Unix time.
        expires = int(time.time()) + self.token_lifetime
        with self.lock:
            self.tokens[token] = expires
        handler.send_json(200, {"access_token": token, "expires_in": expires})

    def _authorised(self, request: Recorded) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.pat is not None:
            return token == self.pat
        if self.reject_tokens:
            return False
        return self.tokens.get(token, 0) > time.time()

    # -- API ------------------------------------------------------------------------------------

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.path == "/api/permission/oauth2/token":
            self._issue(handler, request)
            return
        if self.scenario == "hang" and request.path == "/v3/chat":
            handler.hang()
            return
        if not self._authorised(request):
            # What Coze really does: status 200 and a JSON envelope, even on the stream endpoint.
            handler.send_json(
                200,
                {"code": 4100, "msg": "authentication is invalid"},
                {"Content-Type": "text/event-stream"} if request.path == "/v3/chat" else None,
            )
            return
        if request.path == "/v1/conversation/create":
            if (request.json or {}).get("bot_id") != BOT_ID:
                self.problem("conversation created without the bot id")
            self.conversations.append(CONVERSATION_ID)
            handler.send_json(200, {"code": 0, "msg": "", "data": {"id": CONVERSATION_ID, "created_at": 1}})
        elif request.path == "/v3/chat":
            self.chat(handler, request)
        elif request.path == "/v3/chat/cancel":
            handler.send_json(200, {"code": 0, "msg": "", "data": _chat("canceled")})
        elif request.path == "/v1/conversations":
            if request.query.get("bot_id") != BOT_ID:
                handler.send_json(200, {"code": 4000, "msg": "bot_id is invalid"})
                return
            handler.send_json(200, {"code": 0, "msg": "", "data": {"conversations": [], "has_more": False}})
        else:
            handler.send_json(404, {"code": 4000, "msg": "not found"})

    def _check_chat(self, request: Recorded) -> None:
        body = request.json or {}
        if request.query.get("conversation_id") != CONVERSATION_ID:
            self.problem(f"conversation_id in the query is {request.query.get('conversation_id')!r}")
        if "conversation_id" in body:
            self.problem("conversation_id sent in the body")
        if body.get("bot_id") != BOT_ID or body.get("stream") is not True:
            self.problem(f"bad chat body {body!r}")
        messages = body.get("additional_messages") or []
        if not messages or messages[-1].get("role") != "user" or not messages[-1].get("content"):
            self.problem("the last additional message is not the user's question")
        if not body.get("user_id"):
            self.problem("no user_id")

    def chat(self, handler: FakeHandler, request: Recorded) -> None:
        self._check_chat(request)
        scenario = self.scenario
        if scenario == "json_error":
            handler.send_json(200, {"code": 4000, "msg": "invalid parameter", "detail": {"logid": "x"}})
            return
        if scenario == "429":
            handler.send_json(429, {"msg": "too many requests"}, {"Retry-After": "3"})
            return
        if scenario == "500":
            handler.send_json(502, {"code": 5000, "msg": "bad gateway"})
            return
        handler.start_stream()
        # Real captures have no space after the colon.
        handler.write(sse(_chat("created"), "conversation.chat.created", space=False))
        handler.write(sse(_chat("in_progress"), "conversation.chat.in_progress", space=False))
        if scenario == "busy":
            handler.write(sse({"code": 4016, "msg": "Conversation occupied"}, "error", space=False))
            handler.end_stream()
            return
        first = sse(_message("answer", self.reply[0]), "conversation.message.delta", space=False)
        handler.write(first)
        if scenario == "failed":
            failed = _chat("failed", last_error={"code": 5000, "msg": "event interval error"})
            handler.write(sse(failed, "conversation.chat.failed", space=False))
            handler.end_stream()
            return
        if scenario == "error_event":
            handler.write(sse({"code": 4000, "msg": "model output blocked"}, "error", space=False))
            handler.end_stream()
            return
        if scenario == "cut":
            handler.cut()
            return
        if scenario == "long":
            handler.wait_for_client_to_leave()
            return
        rest = b"".join(
            sse(_message("answer", part), "conversation.message.delta", space=False) for part in self.reply[1:]
        )
        # Things a visitor must never see: the user's own echo, a tool call, verbose metadata.
        rest += sse(_message("function_call", '{"name":"x"}'), "conversation.message.delta", space=False)
        rest += sse(_message("question", "echo", role="user"), "conversation.message.delta", space=False)
        handler.write(rest, piece=1 if scenario == "chinese" else None)
        handler.write(sse(_message("answer", "".join(self.reply)), "conversation.message.completed", space=False))
        handler.write(
            sse(
                _message("verbose", '{"msg_type":"generate_answer_finish"}'),
                "conversation.message.completed",
                space=False,
            )
        )
        for question in self.follow_ups:
            handler.write(sse(_message("follow_up", question), "conversation.message.completed", space=False))
        usage = {"token_count": 633, "output_count": 19, "input_count": 614}
        handler.write(sse(_chat("completed", usage=usage), "conversation.chat.completed", space=False))
        handler.write(b'event:done\ndata:"[DONE]"\n\n')
        handler.end_stream()
