"""The chatbot-node service (the Node system's Coze gateway) as a provider.

Requests carry the single-sign-on JWT the shop platform issues for chatbot-node: HS256 with the
shop's ``CHATBOT_SSO_SECRET``, ``iss`` "shopsaas", ``aud`` "chatbot-node", one hour. The role is
"service", never "admin": the shop only needs to chat on its visitors' behalf. (chatbot-node as
deployed checks no token on its chat routes; the token is sent all the same, so a deployment that
does check it keeps working.)

chatbot-node files a conversation under ``parseInt(userId)`` in a 32-bit integer column, so each
visitor is sent as a number of their own (:func:`node_user_id`), and the ``botId`` it must call Coze
with travels in every request: without it Coze refuses and chatbot-node never ends the reply.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
from django.core.checks import CheckMessage, Error, Warning
from django.utils.crypto import salted_hmac

from chatbot.exceptions import ProviderBadResponse, ProviderError
from chatbot.providers.base import ChatRequest, Delta, Done, HealthResult, ProviderEvent, with_page_note
from chatbot.providers.http import HTTPProvider, UpstreamReply, UpstreamRequest, public_url, set_or_missing
from chatbot.providers.sse import SSEEvent

if TYPE_CHECKING:
    from chatbot.identity import Visitor

SSO_ISSUER = "shopsaas"
SSO_AUDIENCE = "chatbot-node"
SSO_ROLE = "service"
SSO_LIFETIME = 3600
#: HS256 keys shorter than the hash are weak (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32

STREAM_PATH = "/api/coze/chat/stream"
CHAT_PATH = "/api/coze/chat"

#: What chatbot-node answers for a ``conversationId`` it does not have.
CONVERSATION_GONE = "Conversation not found"


class ConversationGone(ProviderError):
    """chatbot-node does not know the conversation id sent; the message is asked again without it."""


#: chatbot-node stores ``userId`` in a signed 32-bit integer column; 0 would read as "no user".
USER_ID_MAX = 2**31 - 1


def node_user_id(visitor: Visitor) -> str:
    """The visitor's number at chatbot-node: digits within 1..2**31-1, the same for every message.

    An HMAC of the visitor's key with the server's ``SECRET_KEY``, so it says nothing about the
    visitor (not their user's primary key) and cannot be traced back without that secret. With 31
    bits, two of tens of thousands of visitors may share a number; only the first message of a
    conversation is filed by it (the rest carry chatbot-node's ``conversationId``)."""
    digest = salted_hmac("chatbot.providers.chatbot_node.user", visitor.key).digest()
    return str(int.from_bytes(digest[:8], "big") % USER_ID_MAX + 1)


def node_bot_id(conf: Any) -> str:
    """``CHATBOT_NODE_BOT_ID``, or ``COZE_BOT_ID`` when that is not set."""
    return str(conf.NODE_BOT_ID or conf.COZE_BOT_ID or "")


def sso_token(secret: str, shop_id: str, *, role: str = SSO_ROLE, now: float | None = None) -> str:
    """The SSO JWT sent with every request to chatbot-node (chat and data sync)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "shopId": shop_id,
        "role": role,
        "iss": SSO_ISSUER,
        "aud": SSO_AUDIENCE,
        "iat": issued,
        "exp": issued + SSO_LIFETIME,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def chunk_text(text: str, size: int = 24) -> list[str]:
    """Split a whole answer into word-sized pieces so it can be streamed like a live one."""
    pieces: list[str] = []
    current = ""
    # Words with their trailing space; runs of CJK (no spaces) are cut at ``size`` characters.
    for token in re.findall(r"\S+\s*|\s+", text):
        while len(token) > size:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(token[:size])
            token = token[size:]
        if len(current) + len(token) > size and current:
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return pieces


class StreamMissing(ProviderError):
    """An older chatbot-node without the stream path: the reply is asked from the JSON endpoint."""


@dataclass
class NodeReply(UpstreamReply):
    """One streamed chatbot-node reply and the body it was asked with."""

    body: dict[str, Any] = field(default_factory=dict)


class ChatbotNodeProvider(HTTPProvider[NodeReply]):
    """Replies from a chatbot-node service (``CHATBOT_NODE_URL``)."""

    name = "chatbot_node"

    def __init__(self, options: Any):
        super().__init__(options)
        # Older chatbot-node builds only have the JSON endpoint; once the stream path answers 404
        # this process stops asking for it.
        self._stream_missing = False

    @property
    def base_url(self) -> str:
        return str(self.options.NODE_URL).rstrip("/")

    def _headers(self) -> dict[str, str]:
        if not self.options.SSO_SECRET:
            # Fail closed: chatbot-node must never be called without a signed identity.
            raise ProviderError("CHATBOT_SSO_SECRET is not set")
        token = sso_token(self.options.SSO_SECRET, str(self.options.SHOP_ID))
        return {"Authorization": f"Bearer {token}", "Accept": "text/event-stream, application/json"}

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        body = self._body(request)
        try:
            yield from self._ask(body, request)
        except ConversationGone:
            # Deleted in chatbot-node's admin, or its database was replaced: start a new one there.
            request.state.pop("conversationId", None)
            body.pop("conversationId", None)
            yield from self._ask(body, request)

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        body = self._body(request)
        try:
            async with aclosing(self._aask(body, request)) as events:
                async for event in events:
                    yield event
        except ConversationGone:
            request.state.pop("conversationId", None)
            body.pop("conversationId", None)
            async with aclosing(self._aask(body, request)) as events:
                async for event in events:
                    yield event

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        bot_id = node_bot_id(self.options)
        if not bot_id:
            # chatbot-node would announce a reply and never send it.
            raise ProviderError("CHATBOT_NODE_BOT_ID (or COZE_BOT_ID) is not set")
        user_id = node_user_id(request.visitor)
        if request.state.get("userId") != user_id:
            # A conversation id chatbot-node filed under another user number (an older build of this
            # app sent ids it read as no user at all, one conversation for every visitor) is not reused.
            request.state.pop("conversationId", None)
            request.state["userId"] = user_id
        body: dict[str, Any] = {
            "shopId": str(self.options.SHOP_ID),
            "message": with_page_note(request),
            "userId": user_id,
            "botId": bot_id,
        }
        if request.state.get("conversationId"):
            body["conversationId"] = request.state["conversationId"]
        return body

    def _ask(self, body: dict[str, Any], request: ChatRequest) -> Iterator[ProviderEvent]:
        if not self._stream_missing:
            try:
                yield from self.answer(NodeReply(request, body=body))
                return
            except StreamMissing:
                self._stream_missing = True
        yield from self._whole_reply(body, request)

    async def _aask(self, body: dict[str, Any], request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        if not self._stream_missing:
            try:
                async with aclosing(self.aanswer(NodeReply(request, body=body))) as events:
                    async for event in events:
                        yield event
                return
            except StreamMissing:
                self._stream_missing = True
        async with aclosing(self._awhole_reply(body, request)) as events:
            async for event in events:
                yield event

    def stream_request(self, reply: NodeReply) -> UpstreamRequest:
        return UpstreamRequest("POST", self.base_url + STREAM_PATH, headers=self._headers(), json=reply.body)

    def stream_refused(self, reply: NodeReply, status: int, detail: str) -> bool:
        if status in (404, 405):
            raise StreamMissing(STREAM_PATH)
        return False

    def map_event(self, event: SSEEvent, reply: NodeReply) -> Iterator[ProviderEvent]:
        data = self.parse_json(event.data)
        if not isinstance(data, dict):
            raise ProviderBadResponse("an event is not an object")
        if event.body and "event" not in data:
            raise ProviderError(f"chatbot-node answered without a stream: {_error_text(data)}")
        kind = data.get("event")
        state = reply.request.state
        if data.get("conversationId"):
            state["conversationId"] = str(data["conversationId"])
        if kind == "message":
            content = data.get("content")
            if isinstance(content, str) and content:
                yield Delta(content)
        elif kind == "completed":
            reply.finished = True
            usage = data.get("usage")
            reply.usage = usage if isinstance(usage, dict) else None
        elif kind == "error":
            if not reply.replied and _error_text(data) == CONVERSATION_GONE and "conversationId" in state:
                raise ConversationGone(CONVERSATION_GONE)
            raise ProviderError(f"chatbot-node: {_error_text(data)}")
        # "started" only carries the conversation id, read above.

    def _chat_call(self, body: dict[str, Any]) -> UpstreamRequest:
        return UpstreamRequest("POST", self.base_url + CHAT_PATH, headers=self._headers(), json=body)

    def _whole_reply(self, body: dict[str, Any], request: ChatRequest) -> Iterator[ProviderEvent]:
        response = self.send_request(self._chat_call(body), check=False)
        gone = response.status_code == 404 and "conversationId" in body
        if gone and self.error_detail(response) == CONVERSATION_GONE:
            response.close()
            raise ConversationGone(CONVERSATION_GONE)
        self.raise_for_status(response)
        yield from self._whole_reply_events(self.read_json(response), request)

    async def _awhole_reply(self, body: dict[str, Any], request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        answer = await self.afetch(self._chat_call(body), check=False)
        if not 200 <= answer.status < 300:
            detail = self.error_text(answer.body)
            if answer.status == 404 and "conversationId" in body and detail == CONVERSATION_GONE:
                raise ConversationGone(CONVERSATION_GONE)
            raise self.status_error(answer.status, answer.path, detail, answer.retry_after)
        for event in self._whole_reply_events(self.answer_json(answer), request):
            yield event

    @staticmethod
    def _whole_reply_events(data: Any, request: ChatRequest) -> Iterator[ProviderEvent]:
        """A whole answer of the JSON endpoint, streamed in word-sized pieces like a live one."""
        if not isinstance(data, dict) or not isinstance(data.get("response"), str):
            raise ProviderBadResponse("chatbot-node's chat answer has no response text")
        if data.get("conversationId"):
            request.state["conversationId"] = str(data["conversationId"])
        for piece in chunk_text(data["response"]):
            yield Delta(piece)
        yield Done()

    def error_text(self, body: bytes) -> str:
        try:
            data = json.loads(body)
        except ValueError:
            return super().error_text(body)
        return _error_text(data) if isinstance(data, dict) else ""

    def check_health(self) -> HealthResult:
        if not self.base_url:
            return HealthResult(ok=False, detail="chatbot_node: CHATBOT_NODE_URL is not set")
        data = self.read_json(self.send("GET", self.base_url + "/health"))
        if isinstance(data, dict) and data.get("status") == "ok":
            return HealthResult(ok=True, detail="chatbot_node: ok")
        return HealthResult(ok=False, detail="chatbot_node: /health did not say ok")

    def describe(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "CHATBOT_NODE_URL": public_url(self.options.NODE_URL) or "missing",
            "CHATBOT_SHOP_ID": self.options.SHOP_ID or "missing",
            "CHATBOT_SSO_SECRET": set_or_missing(self.options.SSO_SECRET),
            "CHATBOT_NODE_BOT_ID": _bot_id_source(self.options),
        }

    @classmethod
    def is_configured(cls, conf: Any) -> bool:
        return bool(conf.NODE_URL)

    @classmethod
    def system_checks(cls, conf: Any) -> list[CheckMessage]:
        errors: list[CheckMessage] = []
        url = conf.NODE_URL
        if not url:
            errors.append(
                Error(
                    "The chatbot_node provider needs CHATBOT_NODE_URL.",
                    hint="Set CHATBOT_NODE_URL to the chatbot-node service, e.g. http://localhost:3000.",
                    id="chatbot.E010",
                )
            )
        elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            errors.append(
                Error(
                    f"CHATBOT_NODE_URL {public_url(url)!r} is not an http(s) URL.",
                    hint="Use the service's base URL, e.g. https://chatbot.example.com.",
                    id="chatbot.E011",
                )
            )
        if not conf.SHOP_ID:
            errors.append(
                Error(
                    "The chatbot_node provider needs CHATBOT_SHOP_ID.",
                    hint="Use the shop id chatbot-node knows this shop by.",
                    id="chatbot.E012",
                )
            )
        if not node_bot_id(conf):
            errors.append(
                Error(
                    "The chatbot_node provider needs the Coze bot id chatbot-node should call.",
                    hint="Set CHATBOT_NODE_BOT_ID (or COZE_BOT_ID) to the bot's id from the Coze console.",
                    id="chatbot.E014",
                )
            )
        if not conf.SSO_SECRET:
            errors.append(
                Error(
                    "The chatbot_node provider needs CHATBOT_SSO_SECRET to sign its requests.",
                    hint="Set CHATBOT_SSO_SECRET to the shop's SSO secret shared with chatbot-node.",
                    id="chatbot.E013",
                )
            )
        elif len(str(conf.SSO_SECRET).encode()) < MIN_SECRET_BYTES:
            errors.append(
                Warning(
                    f"CHATBOT_SSO_SECRET is shorter than {MIN_SECRET_BYTES} bytes, too short for HS256.",
                    hint="Use a long random secret, e.g. python -c 'import secrets; print(secrets.token_hex(32))'.",
                    id="chatbot.W010",
                )
            )
        return errors


def _bot_id_source(conf: Any) -> str:
    if conf.NODE_BOT_ID:
        return str(conf.NODE_BOT_ID)
    if conf.COZE_BOT_ID:
        return f"{conf.COZE_BOT_ID} (from COZE_BOT_ID)"
    return "missing"


def _error_text(data: dict[str, Any]) -> str:
    for key in ("error", "message", "msg"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value[:300]
        if isinstance(value, dict):
            return str(value.get("message") or value)[:300]
    return "unknown error"
