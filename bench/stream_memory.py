"""Where an open stream's memory goes: ``BENCH_STREAMS`` replies (200) held open at once through the
production server's application (``chatbot.asgi``), driven through the ASGI protocol in this process,
with a provider that says "Hello" and then waits; Python's own allocations (``tracemalloc``) before and
while they are open, per stream and by the file that allocated them.

It leaves out what ``slow_streams`` counts beside it (the server's HTTP connection, the provider's
connection, the allocator's slack): the difference between the two is what a stream costs outside
Python objects.

    python -m bench stream_memory
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import secrets
import tracemalloc
from collections.abc import AsyncGenerator
from typing import Any

from bench import report
from bench.servers import CACHE_URL, DATABASE_URL, ensure_database

STREAMS = int(os.environ.get("BENCH_STREAMS", "200"))
SITE_PACKAGES = "site-packages/"


class Held:
    #: Set by the run: the replies go on once it is set.
    gate: asyncio.Event | None = None


def held_provider() -> Any:
    from chatbot.providers.base import Delta, Done, Provider

    class HeldProvider(Provider):
        name = "held"

        async def astream(self, request: Any) -> AsyncGenerator[Any, None]:
            yield Delta("Hello")
            assert Held.gate is not None
            await Held.gate.wait()
            yield Delta(" again")
            yield Done()

    return HeldProvider


class Visitor:
    """One ``POST messages`` through the ASGI protocol, its body sent at once, read as it comes."""

    def __init__(self) -> None:
        token = secrets.token_hex(16)
        self.body = json.dumps({"text": "hello"}).encode()
        headers = [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"x-csrftoken", token.encode()),
            (b"cookie", f"csrftoken={token}".encode()),
            (b"content-length", str(len(self.body)).encode()),
        ]
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/chatbot/messages",
            "raw_path": b"/api/chatbot/messages",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        self.asked = False
        self.said = asyncio.Event()
        self.ended = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.ended.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            if b"Hello" in message.get("body", b""):
                self.said.set()
            if not message.get("more_body"):
                self.ended.set()


async def _measure(application: Any) -> dict:
    # The provider is loaded by its dotted path: its gate is that module's, not this script's.
    from bench.stream_memory import Held

    async def hold(count: int) -> tuple[list[Visitor], list[asyncio.Future]]:
        visitors = [Visitor() for _ in range(count)]
        running = [asyncio.ensure_future(application(v.scope, v.receive, v.send)) for v in visitors]
        for visitor in visitors:
            await asyncio.wait_for(visitor.said.wait(), 120)
        return visitors, running

    Held.gate = asyncio.Event()
    _, warm = await hold(5)  # imports, connections, caches
    Held.gate.set()
    await asyncio.gather(*warm)
    Held.gate = asyncio.Event()
    gc.collect()
    tracemalloc.start(5)
    before = tracemalloc.take_snapshot()
    start = tracemalloc.get_traced_memory()[0]
    _, running = await hold(STREAMS)
    gc.collect()
    after = tracemalloc.take_snapshot()
    held = tracemalloc.get_traced_memory()[0] - start
    by_file = sorted(after.compare_to(before, "filename"), key=lambda stat: -stat.size_diff)[:12]
    Held.gate.set()
    await asyncio.gather(*running)
    tracemalloc.stop()
    return {
        "streams": STREAMS,
        "python_kib_per_stream": round(held / STREAMS / 1024, 1),
        "by_file_kib_per_stream": {
            stat.traceback[0].filename.split(SITE_PACKAGES)[-1]: round(stat.size_diff / STREAMS / 1024, 2)
            for stat in by_file
        },
    }


def run() -> dict:
    ensure_database()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": DATABASE_URL,
            "CACHE_URL": CACHE_URL,
            "BENCH_CHATBOT": json.dumps({"PROVIDER": "bench.stream_memory.HeldProvider"}),
        }
    )
    import django

    django.setup()
    from chatbot.asgi import asgi_application

    result = asyncio.run(_measure(asgi_application(threads=8)))
    rows = [{"allocated_in": name, "kib_per_stream": size} for name, size in result["by_file_kib_per_stream"].items()]
    print(f"Python allocations per open stream: {result['python_kib_per_stream']} KiB", flush=True)
    report.table(f"Python allocations of {STREAMS} open streams, by file", rows)
    return result


def __getattr__(name: str) -> Any:
    # The provider class is made on first use, once Django is set up (``PROVIDER`` names it).
    if name == "HeldProvider":
        return held_provider()
    raise AttributeError(name)


if __name__ == "__main__":
    report.main("stream_memory", run)
