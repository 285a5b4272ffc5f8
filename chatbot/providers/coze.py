"""Coze (扣子) bots through the v3 chat API, streamed.

Each visitor conversation gets one Coze conversation (``POST /v1/conversation/create``), whose id is
kept in the conversation's provider state and sent as the ``conversation_id`` *query* parameter of
``POST /v3/chat``, so Coze keeps the context. Only assistant ``answer`` deltas reach the visitor;
``follow_up`` messages become suggested questions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning
from django.utils.crypto import salted_hmac

from chatbot.aio import in_thread
from chatbot.exceptions import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderBusy,
    ProviderError,
    ProviderUnavailable,
)
from chatbot.providers.base import (
    ChatRequest,
    Delta,
    HealthResult,
    ProviderEvent,
    with_page_note,
)
from chatbot.providers.coze_auth import CozeAuth
from chatbot.providers.http import HTTPProvider, UpstreamReply, UpstreamRequest, public_url, set_or_missing
from chatbot.providers.sse import SSEEvent

logger = logging.getLogger(__name__)

KNOWN_BASES = ("https://api.coze.cn", "https://api.coze.com")
AUTH_CODES = {4100, 4101}
BUSY_CODE = 4016
#: How long a best-effort cancel of an abandoned chat may take.
CANCEL_TIMEOUT = (2.0, 3.0)


def coze_error(code: Any, msg: Any, where: str = "") -> ProviderError:
    """The typed error for a Coze ``{code, msg}`` pair."""
    detail = f"Coze {where + ' ' if where else ''}code {code}: {msg}"
    if code in AUTH_CODES:
        return ProviderAuthError(detail)
    if code == BUSY_CODE:
        # Coze runs one chat at a time per conversation.
        return ProviderBusy(detail)
    if code == 5000:
        return ProviderUnavailable(detail)
    return ProviderError(detail)


@dataclass
class CozeChat(UpstreamReply):
    """One Coze chat: the token it is asked with, and the ids a cancel needs."""

    token: str = ""
    conversation_id: str = ""
    chat_id: str = ""


class CozeProvider(HTTPProvider[CozeChat]):
    """Replies from a Coze bot (``COZE_BOT_ID``), authorised by a JWT app or a personal token."""

    name = "coze"

    def __init__(self, options: Any):
        super().__init__(options)
        self.auth = CozeAuth(self)

    def api_url(self, path: str) -> str:
        return str(self.options.COZE_API_BASE).rstrip("/") + path

    @staticmethod
    def _headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def user_id(self, request: ChatRequest) -> str:
        # Coze advises against real business ids; a keyed hash is stable per visitor and opaque.
        return salted_hmac("chatbot.providers.coze.user", request.visitor.key).hexdigest()[:32]

    # -- the chat -------------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        started = False
        for attempt in (1, 2):
            token = self.auth.token()
            attempt_events = self._chat(CozeChat(request, token=token))
            try:
                for event in attempt_events:
                    started = True
                    yield event
                return
            except ProviderAuthError:
                # A cached JWT-app token can be revoked or expire early: fetch a new one, once.
                if started or attempt == 2 or not self.auth.refreshable:
                    raise
                logger.info("coze: authentication failed, fetching a new access token")
                self.auth.invalidate(token)
            finally:
                # Closes the upstream response now, not whenever the garbage collector gets to it.
                attempt_events.close()

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        started = False
        for attempt in (1, 2):
            # Fetching a JWT-app token is a blocking call (and waits for another reply fetching one).
            token = self.auth.at_hand()
            if token is None:
                token = await in_thread(self.auth.token)
            try:
                async with aclosing(self._achat(CozeChat(request, token=token))) as attempt_events:
                    async for event in attempt_events:
                        started = True
                        yield event
                return
            except ProviderAuthError:
                if started or attempt == 2 or not self.auth.refreshable:
                    raise
                logger.info("coze: authentication failed, fetching a new access token")
                await in_thread(partial(self.auth.invalidate, token))

    def _chat(self, chat: CozeChat) -> Generator[ProviderEvent, None, None]:
        chat.conversation_id = self._conversation_id(chat.request, chat.token)
        yield from self.answer(chat)

    async def _achat(self, chat: CozeChat) -> AsyncGenerator[ProviderEvent, None]:
        chat.conversation_id = self._known_conversation(chat.request) or self._remember_conversation(
            chat.request, self.answer_json(await self.afetch(self._conversation_call(chat.token)))
        )
        async with aclosing(self.aanswer(chat)) as events:
            async for event in events:
                yield event

    def stream_request(self, reply: CozeChat) -> UpstreamRequest:
        body = {
            "bot_id": str(self.options.COZE_BOT_ID),
            "user_id": self.user_id(reply.request),
            "stream": True,
            "auto_save_history": True,
            "additional_messages": [
                {"role": "user", "type": "question", "content": with_page_note(reply.request), "content_type": "text"}
            ],
        }
        return UpstreamRequest(
            "POST",
            self.api_url("/v3/chat"),
            headers={**self._headers(reply.token), "Accept": "text/event-stream"},
            json=body,
            params={"conversation_id": reply.conversation_id},
        )

    def is_end(self, event: SSEEvent) -> bool:
        return event.is_done or event.event == "done"

    def map_event(self, event: SSEEvent, reply: CozeChat) -> Iterator[ProviderEvent]:
        data = self.parse_json(event.data) if event.data.strip() else {}
        if event.body:
            code = data.get("code") if isinstance(data, dict) else None
            raise coze_error(code, data.get("msg") if isinstance(data, dict) else "", "chat")
        if not isinstance(data, dict):
            raise ProviderBadResponse(f"Coze event {event.event!r} is not an object")
        kind = event.event
        if kind == "conversation.chat.created":
            reply.chat_id = str(data.get("id") or "")
        elif kind == "conversation.message.delta":
            if data.get("role") == "assistant" and data.get("type") == "answer":
                content = data.get("content")
                if isinstance(content, str) and content:
                    yield Delta(content)
        elif kind == "conversation.message.completed":
            if data.get("type") == "follow_up" and isinstance(data.get("content"), str):
                reply.suggestions.append(data["content"])
        elif kind == "conversation.chat.completed":
            reply.finished = True
            reply.usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        elif kind == "conversation.chat.failed":
            reply.finished = True
            error: dict[str, Any] = data["last_error"] if isinstance(data.get("last_error"), dict) else data
            raise coze_error(error.get("code"), error.get("msg"), "chat failed:")
        elif kind == "conversation.chat.requires_action":
            reply.finished = True
            raise ProviderError("the Coze bot asked for a local plugin, which this shop does not run")
        elif kind == "error":
            reply.finished = True
            raise coze_error(data.get("code"), data.get("msg"), "stream error:")

    def abandoned(self, reply: CozeChat) -> None:
        # The visitor stopped or the stream broke: cancel, or the next message gets 4016.
        if reply.chat_id:
            try:
                self.send_request(self._cancel_call(reply), timeout=CANCEL_TIMEOUT, check=False).close()
            except ProviderError as exc:
                logger.info("coze: could not cancel an abandoned chat: %s", exc.code)

    async def aabandoned(self, reply: CozeChat) -> None:
        if reply.chat_id:
            try:
                async with asyncio.timeout(sum(CANCEL_TIMEOUT)):
                    await self.afetch(self._cancel_call(reply), check=False, timeout=CANCEL_TIMEOUT)
            except ProviderError as exc:
                logger.info("coze: could not cancel an abandoned chat: %s", exc.code)
            except TimeoutError:
                logger.info("coze: could not cancel an abandoned chat: timeout")

    def _cancel_call(self, reply: CozeChat) -> UpstreamRequest:
        return UpstreamRequest(
            "POST",
            self.api_url("/v3/chat/cancel"),
            headers=self._headers(reply.token),
            json={"conversation_id": reply.conversation_id, "chat_id": reply.chat_id},
        )

    def _known_conversation(self, request: ChatRequest) -> str | None:
        """The Coze conversation this visitor conversation continues, when there is one for this bot."""
        state = request.state
        if state.get("conversation_id") and state.get("bot_id") == str(self.options.COZE_BOT_ID):
            return str(state["conversation_id"])
        return None

    def _conversation_call(self, token: str) -> UpstreamRequest:
        return UpstreamRequest(
            "POST",
            self.api_url("/v1/conversation/create"),
            headers=self._headers(token),
            json={"bot_id": str(self.options.COZE_BOT_ID), "meta_data": {"source": "django-shop-chatbot"}},
        )

    def _remember_conversation(self, request: ChatRequest, answer: Any) -> str:
        data = self._envelope(answer, "conversation/create")
        conversation_id = data.get("id") if isinstance(data, dict) else None
        if not conversation_id:
            raise ProviderBadResponse("Coze created a conversation without an id")
        # Kept with the bot id: a conversation of another bot cannot be continued.
        request.state["conversation_id"] = str(conversation_id)
        request.state["bot_id"] = str(self.options.COZE_BOT_ID)
        return str(conversation_id)

    def _conversation_id(self, request: ChatRequest, token: str) -> str:
        known = self._known_conversation(request)
        if known:
            return known
        response = self.send_request(self._conversation_call(token))
        return self._remember_conversation(request, self.read_json(response))

    @staticmethod
    def _envelope(data: Any, where: str) -> Any:
        if not isinstance(data, dict):
            raise ProviderBadResponse(f"Coze {where} answer is not an object")
        if data.get("code"):
            raise coze_error(data.get("code"), data.get("msg"), where)
        return data.get("data")

    def error_text(self, body: bytes) -> str:
        try:
            data = json.loads(body)
        except ValueError:
            return super().error_text(body)
        if not isinstance(data, dict):
            return ""
        if "error_code" in data or "error_message" in data:
            return f"{data.get('error_code')}: {data.get('error_message')}"
        return f"code {data.get('code')}: {data.get('msg')}"

    # -- health and configuration ---------------------------------------------------------------

    def check_health(self) -> HealthResult:
        token = self.auth.token()
        response = self.send(
            "GET",
            self.api_url("/v1/conversations"),
            params={"bot_id": str(self.options.COZE_BOT_ID), "page_num": 1, "page_size": 1},
            headers=self._headers(token),
        )
        try:
            self._envelope(self.read_json(response), "conversations")
        except ProviderAuthError:
            self.auth.invalidate(token)
            raise
        return HealthResult(ok=True, detail="coze: ok")

    def describe(self) -> dict[str, Any]:
        opts = self.options
        auth = "missing"
        if opts.COZE_CLIENT_ID:
            auth = "JWT app"
        elif opts.COZE_API_TOKEN:
            auth = "personal access token"
        return {
            "provider": self.name,
            "COZE_API_BASE": public_url(opts.COZE_API_BASE),
            "COZE_BOT_ID": opts.COZE_BOT_ID or "missing",
            "auth": auth,
            "COZE_CLIENT_ID": opts.COZE_CLIENT_ID or "missing",
            "COZE_PUBLIC_KEY_ID": set_or_missing(opts.COZE_PUBLIC_KEY_ID),
            "COZE_PRIVATE_KEY_FILE": opts.COZE_PRIVATE_KEY_FILE or "missing",
            "COZE_API_TOKEN": set_or_missing(opts.COZE_API_TOKEN),
        }

    @classmethod
    def is_configured(cls, conf: Any) -> bool:
        return bool(conf.COZE_BOT_ID)

    @classmethod
    def system_checks(cls, conf: Any) -> list[CheckMessage]:
        errors: list[CheckMessage] = []
        if not conf.COZE_BOT_ID:
            errors.append(
                Error(
                    "The coze provider needs COZE_BOT_ID.",
                    hint="Use the number at the end of the bot's URL; publish the bot to the API channel.",
                    id="chatbot.E020",
                )
            )
        base = str(conf.COZE_API_BASE or "")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                Error(
                    f"COZE_API_BASE {base!r} is not a URL.",
                    hint="Use https://api.coze.cn (coze.cn accounts) or https://api.coze.com (coze.com).",
                    id="chatbot.E021",
                )
            )
        elif base.rstrip("/") not in KNOWN_BASES:
            errors.append(
                Warning(
                    f"COZE_API_BASE {public_url(base)!r} is neither Coze site.",
                    hint="Tokens and apps belong to one site: https://api.coze.cn or https://api.coze.com.",
                    id="chatbot.W020",
                )
            )
        if conf.COZE_CLIENT_ID:
            if not conf.COZE_PUBLIC_KEY_ID:
                errors.append(
                    Error(
                        "The Coze JWT app needs COZE_PUBLIC_KEY_ID (the public key fingerprint).",
                        hint="Copy the fingerprint shown next to the key on the OAuth app's page.",
                        id="chatbot.E022",
                    )
                )
            key_file = conf.COZE_PRIVATE_KEY_FILE
            if not key_file:
                errors.append(
                    Error(
                        "The Coze JWT app needs COZE_PRIVATE_KEY_FILE.",
                        hint="Point it at the private_key.pem downloaded when the key was created.",
                        id="chatbot.E023",
                    )
                )
            elif not (os.path.isfile(key_file) and os.access(key_file, os.R_OK)):
                errors.append(
                    Error(
                        f"COZE_PRIVATE_KEY_FILE {key_file!r} cannot be read.",
                        hint="Check the path and that the web server's user may read the file.",
                        id="chatbot.E024",
                    )
                )
        elif not conf.COZE_API_TOKEN:
            errors.append(
                Error(
                    "The coze provider has no credentials.",
                    hint="Set COZE_CLIENT_ID, COZE_PUBLIC_KEY_ID and COZE_PRIVATE_KEY_FILE (a JWT app), "
                    "or COZE_API_TOKEN (a personal access token).",
                    id="chatbot.E025",
                )
            )
        return errors
