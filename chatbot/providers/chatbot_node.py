"""The chatbot-node service (the Node system's Coze gateway) as a provider.

Requests carry the single-sign-on JWT chatbot-node expects from the shop platform: HS256 with the
shop's ``CHATBOT_SSO_SECRET``, ``iss`` "shopsaas", ``aud`` "chatbot-node", one hour. The role is
"service", never "admin": the shop only needs to chat on its visitors' behalf.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core.checks import CheckMessage, Error, Warning

from chatbot.exceptions import ProviderBadResponse, ProviderError, ProviderUnavailable
from chatbot.providers.base import ChatRequest, Delta, Done, HealthResult, ProviderEvent
from chatbot.providers.http import HTTPProvider, public_url, set_or_missing

SSO_ISSUER = "shopsaas"
SSO_AUDIENCE = "chatbot-node"
SSO_ROLE = "service"
SSO_LIFETIME = 3600
#: HS256 keys shorter than the hash are weak (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32

STREAM_PATH = "/api/coze/chat/stream"
CHAT_PATH = "/api/coze/chat"


def sso_token(secret: str, shop_id: str, *, role: str = SSO_ROLE, now: float | None = None) -> str:
    """The SSO JWT chatbot-node verifies on every request."""
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


class ChatbotNodeProvider(HTTPProvider):
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
        body: dict[str, Any] = {
            "shopId": str(self.options.SHOP_ID),
            "message": request.text,
            "userId": request.visitor.key,
        }
        if request.state.get("conversationId"):
            body["conversationId"] = request.state["conversationId"]
        if not self._stream_missing:
            response = self.send(
                "POST", self.base_url + STREAM_PATH, json=body, headers=self._headers(), stream=True, check=False
            )
            if response.status_code not in (404, 405):
                self.raise_for_status(response)
                yield from self._read_stream(response, request)
                return
            response.close()
            self._stream_missing = True
        yield from self._whole_reply(body, request)

    def _read_stream(self, response: Any, request: ChatRequest) -> Iterator[ProviderEvent]:
        usage = None
        completed = ended = False
        events = self.events(response)
        try:
            for event in events:
                if event.is_done:
                    ended = True
                    break
                data = self.parse_json(event.data)
                if not isinstance(data, dict):
                    raise ProviderBadResponse("an event is not an object")
                if event.body and "event" not in data:
                    raise ProviderError(f"chatbot-node answered without a stream: {_error_text(data)}")
                kind = data.get("event")
                if data.get("conversationId"):
                    request.state["conversationId"] = str(data["conversationId"])
                if kind == "message":
                    content = data.get("content")
                    if isinstance(content, str) and content:
                        yield Delta(content)
                elif kind == "completed":
                    completed = True
                    usage = data.get("usage") or None
                elif kind == "error":
                    raise ProviderError(f"chatbot-node: {_error_text(data)}")
                # "started" only carries the conversation id, read above.
            else:
                if not completed:
                    raise ProviderUnavailable("chatbot-node closed the stream before the reply was complete")
        finally:
            self.close_stream(response, events, ended=ended)
        yield Done(usage=usage if isinstance(usage, dict) else None)

    def _whole_reply(self, body: dict[str, Any], request: ChatRequest) -> Iterator[ProviderEvent]:
        response = self.send("POST", self.base_url + CHAT_PATH, json=body, headers=self._headers())
        data = self.read_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("response"), str):
            raise ProviderBadResponse("chatbot-node's chat answer has no response text")
        if data.get("conversationId"):
            request.state["conversationId"] = str(data["conversationId"])
        for piece in chunk_text(data["response"]):
            yield Delta(piece)
        yield Done()

    def error_detail(self, response: Any) -> str:
        try:
            data = response.json()
        except ValueError:
            return super().error_detail(response)
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


def _error_text(data: dict[str, Any]) -> str:
    for key in ("error", "message", "msg"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value[:300]
        if isinstance(value, dict):
            return str(value.get("message") or value)[:300]
    return "unknown error"
