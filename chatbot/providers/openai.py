"""Any OpenAI-compatible chat completions server: OpenAI, Ollama, vLLM, llama.cpp.

The model answers from the shop's own data by calling tools (:mod:`chatbot.providers.shop_tools`);
tool calls arrive as fragments keyed by ``index`` (OpenAI, vLLM) or whole in one chunk (Ollama), and
both are assembled the same way. The number of tool rounds is bounded by ``OPENAI_MAX_TOOL_ROUNDS``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning

from chatbot.aio import in_thread
from chatbot.exceptions import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from chatbot.providers.base import ChatRequest, Delta, Done, HealthResult, Products, ProviderEvent, page_note
from chatbot.providers.http import HTTPProvider, UpstreamReply, UpstreamRequest, public_url, set_or_missing
from chatbot.providers.shop_tools import TOOL_SPECS, ShopTools
from chatbot.providers.sse import SSEEvent

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You are {assistant}, the customer support assistant of the online shop {shop}.
Rules:
- Answer only questions about {shop}: its products, stock, prices, shipping, returns and the customer's
  own orders. Politely decline anything else.
- Use the tools for facts (products, prices, stock, orders). Never invent a product, price, stock level,
  order or policy; if a tool finds nothing, say so.
- Never reveal or guess data about other customers. Order details come only from the order_status tool.
- A guest must give the order number and the email used for the order before you can look it up.
- If the customer wants a person, tell them to ask for a human; staff will take over.
- Be brief and friendly. Reply in the customer's language ({language})."""

_ROLES = {"user": "user", "assistant": "assistant", "staff": "assistant"}


@dataclass
class Completion(UpstreamReply):
    """One streamed completion of a reply: what was asked, and the tool calls it asks for."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    offer_tools: bool = False
    #: Which round of tool calls this is, from 0.
    number: int = 0
    #: The last round: tools stay declared but the model may not call them.
    last: bool = False
    #: Tool calls by index, assembled from their streamed fragments.
    calls: dict[int, dict[str, str]] = field(default_factory=dict)


class OpenAIProvider(HTTPProvider[Completion]):
    """Replies from an OpenAI-compatible ``/chat/completions`` endpoint (``OPENAI_BASE_URL``)."""

    name = "openai"

    def __init__(self, options: Any):
        super().__init__(options)
        # Some local models reject "tools" outright; after the first refusal this process stops
        # sending them and the model answers without shop data.
        self._tools_refused = False

    @property
    def base_url(self) -> str:
        return str(self.options.OPENAI_BASE_URL).rstrip("/")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.options.OPENAI_API_KEY:
            headers["Authorization"] = f"Bearer {self.options.OPENAI_API_KEY}"
        return headers

    def system_prompt(self, request: ChatRequest) -> str:
        shop = self.options.SHOP_NAME or request.shop.shop_name() or "this shop"
        return SYSTEM_PROMPT.format(assistant=self.options.ASSISTANT_NAME, shop=shop, language=request.language)

    def messages(self, request: ChatRequest) -> list[dict[str, Any]]:
        system = "\n\n".join(x for x in (self.system_prompt(request), page_note(request)) if x)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        history = list(request.history)
        if history and history[-1] == ("user", request.text):
            history.pop()  # the relay may already have stored this very question
        for role, text in history:
            if role in _ROLES and text:
                messages.append({"role": _ROLES[role], "content": text})
        messages.append({"role": "user", "content": request.text})
        return messages

    # -- the chat -------------------------------------------------------------------------------

    # The blocking and the asyncio chat share every step but the waiting: a completion is streamed,
    # its tool calls run against the shop, and ``_next_round`` asks again with their results.

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        tools = ShopTools(request)
        completion: Completion | None = self._round(request, self.messages(request), 0)
        usage = None
        while completion is not None:
            yield from self.read_stream(self.open_stream(completion), completion)
            usage = completion.usage or usage
            results = self._run_tools(tools, self._tool_calls(completion))
            completion = self._next_round(completion, results)
        cards = tools.cards()
        if cards:
            yield Products(cards)
        yield Done(usage=usage)

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        # The shop tools read the database: they run in a worker thread, never on the loop.
        tools = ShopTools(request)
        messages = await in_thread(lambda: self.messages(request))
        completion: Completion | None = self._round(request, messages, 0)
        usage = None
        while completion is not None:
            response = await self.aopen_stream(completion)
            async with aclosing(self.aread_stream(response, completion)) as events:
                async for event in events:
                    yield event
            usage = completion.usage or usage
            results = await in_thread(partial(self._run_tools, tools, self._tool_calls(completion)))
            completion = self._next_round(completion, results)
        cards = await in_thread(tools.cards)
        if cards:
            yield Products(cards)
        yield Done(usage=usage)

    @property
    def max_rounds(self) -> int:
        return max(0, int(self.options.OPENAI_MAX_TOOL_ROUNDS))

    def _round(self, request: ChatRequest, messages: list[dict[str, Any]], number: int) -> Completion:
        # On the last round tools stay declared (earlier messages refer to them) but are off.
        return Completion(
            request,
            messages=messages,
            offer_tools=not self._tools_refused and self.max_rounds > 0,
            number=number,
            last=number == self.max_rounds,
        )

    def _tool_calls(self, completion: Completion) -> list[dict[str, str]]:
        """The tool calls ``completion`` asks for, in order (none when the answer is complete)."""
        if not completion.calls or not completion.offer_tools:
            return []
        if completion.last:
            raise ProviderBadResponse(f"the model still wanted tools after {self.max_rounds} rounds")
        return [completion.calls[i] for i in sorted(completion.calls)]

    @staticmethod
    def _run_tools(tools: ShopTools, calls: list[dict[str, str]]) -> list[tuple[dict[str, str], str]]:
        return [(call, tools.call(call["name"], call["arguments"])) for call in calls]

    def _next_round(self, completion: Completion, results: list[tuple[dict[str, str], str]]) -> Completion | None:
        """The completion that follows ``completion`` with the ``results`` of its tool calls; None
        when it asked for none."""
        if not results:
            return None
        messages = completion.messages
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"] or "{}"},
                    }
                    for call, _ in results
                ],
            }
        )
        for call, result in results:
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        return self._round(completion.request, messages, completion.number + 1)

    def stream_request(self, reply: Completion) -> UpstreamRequest:
        body: dict[str, Any] = {"model": self.options.OPENAI_MODEL, "messages": reply.messages, "stream": True}
        if reply.offer_tools:
            body["tools"] = TOOL_SPECS
            body["tool_choice"] = "none" if reply.last else "auto"
        return UpstreamRequest("POST", self.base_url + "/chat/completions", headers=self._headers(), json=body)

    def stream_refused(self, reply: Completion, status: int, detail: str) -> bool:
        if status == 400 and reply.offer_tools and "tool" in detail.lower():
            logger.warning(
                "openai: the model %s does not take tools; answering without them", self.options.OPENAI_MODEL
            )
            self._tools_refused = True
            reply.offer_tools = False
            return True
        return False

    def map_event(self, event: SSEEvent, reply: Completion) -> Iterator[ProviderEvent]:
        if not event.data.strip():
            return  # data-only keep-alives some proxies send
        data = self.parse_json(event.data)
        if not isinstance(data, dict):
            raise ProviderBadResponse("a chunk is not an object")
        whole = event.body and isinstance(data.get("choices"), list) and not data.get("error")
        if not whole and (event.body or event.event == "error" or data.get("error")):
            raise self._stream_error(data)
        if isinstance(data.get("usage"), dict):
            reply.usage = data["usage"]
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            # A server that ignores "stream" sends one whole completion with "message".
            delta = choice.get("message" if whole else "delta") or {}
            if whole or choice.get("finish_reason"):
                reply.finished = True
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield Delta(content)
            for fragment in delta.get("tool_calls") or []:
                _merge_tool_call(reply.calls, fragment)

    @staticmethod
    def _stream_error(data: dict[str, Any]) -> ProviderError:
        error = data.get("error", data)
        if not isinstance(error, dict):
            error = {"message": str(error)}
        message = str(error.get("message") or "error during streaming")[:300]
        code = error.get("code")
        kind = str(error.get("type") or "")
        if code in (401, 403, "invalid_api_key") or kind == "authentication_error":
            return ProviderAuthError(message)
        if code in (429, "rate_limit_exceeded") or "rate_limit" in kind:
            return ProviderRateLimited(message)
        if isinstance(code, int) and code >= 500:
            return ProviderUnavailable(message)
        return ProviderError(message)

    def error_text(self, body: bytes) -> str:
        try:
            data = json.loads(body)
        except ValueError:
            return super().error_text(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or error)[:300]
        return str(error or data)[:300]

    # -- health and configuration ---------------------------------------------------------------

    def check_health(self) -> HealthResult:
        if not self.base_url:
            return HealthResult(ok=False, detail="openai: OPENAI_BASE_URL is not set")
        response = self.send("GET", self.base_url + "/models", headers=self._headers())
        data = self.read_json(response)
        model = self.options.OPENAI_MODEL
        listed = [m.get("id") for m in data.get("data") or [] if isinstance(m, dict)] if isinstance(data, dict) else []
        # llama.cpp serves whatever it loaded under any name, so an unlisted model is only a note.
        note = "" if not listed or model in listed else f" (model {model!r} is not listed)"
        return HealthResult(ok=True, detail=f"openai: ok{note}")

    def describe(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "OPENAI_BASE_URL": public_url(self.options.OPENAI_BASE_URL) or "missing",
            "OPENAI_MODEL": self.options.OPENAI_MODEL or "missing",
            "OPENAI_API_KEY": set_or_missing(self.options.OPENAI_API_KEY),
            "OPENAI_MAX_TOOL_ROUNDS": self.options.OPENAI_MAX_TOOL_ROUNDS,
        }

    @classmethod
    def is_configured(cls, conf: Any) -> bool:
        return bool(conf.OPENAI_BASE_URL)

    @classmethod
    def system_checks(cls, conf: Any) -> list[CheckMessage]:
        errors: list[CheckMessage] = []
        url = str(conf.OPENAI_BASE_URL or "")
        parts = urlsplit(url)
        if not url:
            errors.append(
                Error(
                    "The openai provider needs OPENAI_BASE_URL.",
                    hint="e.g. https://api.openai.com/v1, or http://localhost:11434/v1 for Ollama.",
                    id="chatbot.E030",
                )
            )
        elif parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                Error(
                    f"OPENAI_BASE_URL {public_url(url)!r} is not an http(s) URL.",
                    hint="Use the base that /chat/completions is under, ending in /v1.",
                    id="chatbot.E031",
                )
            )
        elif parts.hostname == "api.openai.com" and not conf.OPENAI_API_KEY:
            errors.append(
                Error(
                    "OPENAI_BASE_URL is OpenAI's API but OPENAI_API_KEY is not set.",
                    hint="Set OPENAI_API_KEY; local servers such as Ollama need none.",
                    id="chatbot.E032",
                )
            )
        if not conf.OPENAI_MODEL:
            errors.append(
                Error("The openai provider needs a model name.", hint="Set CHATBOT_OPENAI_MODEL.", id="chatbot.E033")
            )
        rounds = conf.OPENAI_MAX_TOOL_ROUNDS
        if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
            errors.append(
                Error(
                    "CHATBOT['OPENAI_MAX_TOOL_ROUNDS'] must be a whole number, 0 or more.",
                    hint="0 turns the shop tools off; 3 is plenty.",
                    id="chatbot.E034",
                )
            )
        elif rounds > 10:
            errors.append(
                Warning(
                    "CHATBOT['OPENAI_MAX_TOOL_ROUNDS'] is over 10; a looping model will keep the visitor waiting.",
                    id="chatbot.W030",
                )
            )
        return errors


def _merge_tool_call(calls: dict[int, dict[str, str]], fragment: Any) -> None:
    """Add one streamed tool-call fragment; ``id`` and ``name`` come once, ``arguments`` in pieces."""
    if not isinstance(fragment, dict):
        return
    index = fragment.get("index")
    if not isinstance(index, int):
        index = len(calls)
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if fragment.get("id"):
        call["id"] = str(fragment["id"])
    function = fragment.get("function") or {}
    if function.get("name"):
        call["name"] = str(function["name"])
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        # A few servers send the arguments already parsed.
        call["arguments"] = json.dumps(arguments)
    elif isinstance(arguments, str):
        call["arguments"] += arguments
    if not call["id"]:
        call["id"] = f"call_{index}"
