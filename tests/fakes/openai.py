"""A fake OpenAI-compatible server: ``/v1/chat/completions`` streaming and ``/v1/models``.

Each completion request takes the next answer from ``script`` (the last one repeats). An answer is a
list of steps: chunk dicts are sent as ``data:`` events, bytes are sent raw, and the strings
"cut", "hang", "long", "no-done" and "stall" change how the stream ends; "pause" waits for ``proceed`` and
"flood" then keeps sending text until the client hangs up; "murmur" keeps sending keep-alive comments
(and no event) until the client hangs up.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes.server import FakeHandler, FakeServer, Recorded, sse

MODEL = "test-model"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": MODEL, "choices": choices, **extra}


def text_answer(*parts: str) -> list[Any]:
    steps: list[Any] = [chunk({"role": "assistant", "content": ""})]
    steps += [chunk({"content": part}) for part in parts]
    steps.append(chunk({}, "stop"))
    steps.append(chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}))
    return steps


def tool_answer(*calls: tuple[str, dict[str, Any]], whole: bool = False) -> list[Any]:
    """Tool calls streamed OpenAI-style (name first, arguments in fragments) or, with ``whole``,
    Ollama-style (each call complete in one chunk)."""
    steps: list[Any] = []
    for index, (name, arguments) in enumerate(calls):
        text = json.dumps(arguments)
        call_id = f"call_{name}_{index}"
        if whole:
            steps.append(
                chunk(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": text},
                            }
                        ],
                    }
                )
            )
            continue
        steps.append(
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                    ],
                }
            )
        )
        middle = len(text) // 2
        for piece in (text[:middle], text[middle:]):
            steps.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    steps.append(chunk({}, "tool_calls"))
    return steps


class FakeOpenAI(FakeServer):
    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.script: list[Any] = [text_answer("Hello", " there")]
        self.piece: int | None = None
        self.status: tuple[int, dict[str, Any], dict[str, str]] | None = None
        self.refuse_tools = False
        self.completions: list[dict[str, Any]] = []
        self.proceed = threading.Event()

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        expected = f"Bearer {self.api_key}" if self.api_key else None
        if request.headers.get("authorization") != expected:
            if self.api_key is None:
                self.problem("an Authorization header was sent without a key configured")
            handler.send_json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        if request.path == "/v1/models":
            handler.send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        elif request.path == "/v1/chat/completions":
            self.complete(handler, request)
        else:
            handler.send_json(404, {"error": {"message": "not found", "type": "not_found_error"}})

    def complete(self, handler: FakeHandler, request: Recorded) -> None:
        body = request.json or {}
        self.completions.append(body)
        if body.get("stream") is not True or body.get("model") != MODEL:
            self.problem(f"bad completion body {body.get('stream')!r} {body.get('model')!r}")
        messages = body.get("messages") or []
        if not messages or messages[0].get("role") != "system":
            self.problem("no system prompt")
        if self.refuse_tools and "tools" in body:
            handler.send_json(
                400, {"error": {"message": "test-model does not support tools", "type": "invalid_request_error"}}
            )
            return
        if self.status is not None:
            status, data, headers = self.status
            handler.send_json(status, data, dict(headers))
            return
        steps = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if steps == "hang":
            handler.hang()
            return
        handler.start_stream()
        for step in steps:
            if step == "cut":
                handler.cut()
                return
            if step == "long":
                handler.wait_for_client_to_leave()
                return
            if step == "pause":
                self.proceed.wait()
                continue
            if step == "flood":
                self._flood(handler, b"")
                return
            if step == "murmur":
                self._flood(handler, b": keep-alive\n\n")
                return
            if step == "no-done":
                handler.end_stream()
                return
            if step == "stall":  # the end marker, then the body never ends
                handler.write(b"data: [DONE]\n\n")
                handler.wait_for_client_to_leave()
                return
            data = step if isinstance(step, bytes) else sse(step)
            handler.write(data, piece=self.piece)
        handler.write(b"data: [DONE]\n\n")
        handler.end_stream()

    def _flood(self, handler: FakeHandler, comment: bytes) -> None:
        try:
            while not self.release.is_set():
                handler.write(comment or sse(chunk({"content": "."})))
        except OSError:
            self.client_gone.set()
        handler.close_connection = True


def openai_settings(fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    """``settings.CHATBOT`` with the ``openai`` provider pointed at ``fake``, with its key, plus ``extra``."""
    from django.conf import settings

    return {
        **settings.CHATBOT,
        "PROVIDER": "openai",
        "OPENAI_BASE_URL": f"{fake.url}/v1",
        "OPENAI_API_KEY": fake.api_key or "",
        "OPENAI_MODEL": MODEL,
        **extra,
    }
