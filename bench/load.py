"""The load client: visitors as real HTTP clients (aiohttp), each with its own session cookie and CSRF
token, the way the widget talks to the API."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from dataclasses import dataclass, field

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=30)


@dataclass
class Result:
    ttft: float | None = None
    total: float | None = None
    deltas: int = 0
    status: int = 0
    outcome: str = ""  # "done", an error code, or an exception name
    text: str = ""
    cards: list[str] = field(default_factory=list)


@dataclass
class Visitor:
    """One browser: a cookie jar holding the session and CSRF cookies."""

    base: str
    session: aiohttp.ClientSession = field(init=False)
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))

    async def __aenter__(self) -> Visitor:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        jar.update_cookies({"csrftoken": self.csrf})
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self.session = aiohttp.ClientSession(cookie_jar=jar, connector=connector, timeout=TIMEOUT)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    def headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.csrf, "Content-Type": "application/json"}

    async def post_json(self, path: str, data: dict) -> tuple[int, bytes]:
        async with self.session.post(self.base + path, data=json.dumps(data), headers=self.headers()) as response:
            return response.status, await response.read()

    async def ask(self, text: str, page: str = "") -> Result:
        """POST messages and read the SSE stream to its end; the first delta is time to first token."""
        result = Result()
        started = time.perf_counter()
        event = ""
        body = {"text": text, "page": page} if page else {"text": text}
        try:
            async with self.session.post(
                self.base + "/api/chatbot/messages", data=json.dumps(body), headers=self.headers()
            ) as response:
                result.status = response.status
                if response.status != 200:
                    result.outcome = f"http_{response.status}"
                    await response.read()
                    return result
                async for raw in response.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if event == "delta":
                            if result.ttft is None:
                                result.ttft = time.perf_counter() - started
                            result.deltas += 1
                        elif event == "done":
                            result.outcome = "done"
                            result.text = data.get("text", "")
                            result.cards = [card.get("title", "") for card in data.get("products") or []]
                        elif event == "error":
                            result.outcome = data.get("code", "error")
        except (TimeoutError, aiohttp.ClientError) as exc:
            result.outcome = type(exc).__name__
        result.total = time.perf_counter() - started
        if not result.outcome:
            result.outcome = "no_final_event"
        return result


async def provider_ttft(base_v1: str) -> float:
    """Time to the first content token straight from the provider (no chat server in between)."""
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        started = time.perf_counter()
        async with session.post(base_v1 + "/chat/completions", json=body) as response:
            async for raw in response.content:
                if raw.startswith(b"data: {") and json.loads(raw[6:])["choices"]:
                    delta = json.loads(raw[6:])["choices"][0]["delta"]
                    if delta.get("content"):
                        ttft = time.perf_counter() - started
                        await response.read()
                        return ttft
    raise RuntimeError("the provider sent no token")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
