"""Throughput of the chat endpoints relative to a bare Django view, in the same server, same run.

Closed loop: ``CLIENTS`` visitors each send requests back to back for ``SECONDS``; requests per second
are compared with ``POST /bench/bare`` (a JSON view behind the same middleware, CSRF included).

* ``POST /api/chatbot/messages`` with a provider that answers "ok" at once, the SSE read to the end:
  what remains is the chat API's own cost (session identity, storing the question and the reply).
* ``POST /api/chatbot/stream-chat-token`` for returning visitors against a loopback Stream server;
  the Stream calls made during the timed part are counted (goal: none).

Goal: each endpoint at least 0.7 of the bare view. Two reference views (not goals) show what part of
the gap is the least any such endpoint must do: ``/bench/bare-session`` reads the visitor's session
(the token's identity), ``/bench/bare-write`` also stores two rows in one transaction (a message).

    python -m bench throughput
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter

from bench import report
from bench.load import Visitor
from bench.servers import ensure_database, gunicorn, server_log

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


async def _closed_loop(base: str, request, clients: int, seconds: float, ready=None) -> tuple[float, Counter]:
    """Each visitor makes one untimed request (its session, its Stream user), then ``ready()`` is
    called and every visitor sends requests back to back for ``seconds``."""
    outcomes: Counter = Counter()
    visitors = [Visitor(base) for _ in range(clients)]
    for visitor in visitors:
        await visitor.__aenter__()
    try:
        await asyncio.gather(*(request(visitor) for visitor in visitors))
        await asyncio.gather(*(request(visitor) for visitor in visitors))
        if ready is not None:
            ready()
        deadline = time.perf_counter() + seconds
        done = 0

        async def loop(visitor: Visitor) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                outcomes[await request(visitor)] += 1
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(visitor) for visitor in visitors))
        return done / (time.perf_counter() - started), outcomes
    finally:
        for visitor in visitors:
            await visitor.__aexit__(None, None, None)


async def post_bare(visitor: Visitor) -> str:
    status, _ = await visitor.post_json("/bench/bare", {"text": "hello"})
    return str(status)


async def _bare_write(visitor: Visitor) -> str:
    status, _ = await visitor.post_json("/bench/bare-write", {"text": "hello"})
    return str(status)


async def _bare_session(visitor: Visitor) -> str:
    status, _ = await visitor.post_json("/bench/bare-session", {})
    return str(status)


async def post_message(visitor: Visitor) -> str:
    return (await visitor.ask("hello")).outcome


async def _token(visitor: Visitor) -> str:
    status, _ = await visitor.post_json("/api/chatbot/stream-chat-token", {})
    return str(status)


def measure(base: str, name: str, request, ready=None) -> dict:
    rate, outcomes = asyncio.run(_closed_loop(base, request, CLIENTS, SECONDS, ready))
    row = {"endpoint": name, "req_per_s": round(rate, 1), "outcomes": dict(outcomes)}
    print(row, flush=True)
    return row


@contextlib.contextmanager
def _fake_stream():
    try:
        from tests.fakes.stream_server import FakeStream
    except ImportError as exc:  # the test fakes are not part of an installed package
        print(f"(Stream token not measured: {exc})")
        yield None
        return
    with FakeStream() as fake:
        yield fake


def run() -> dict:
    ensure_database()
    rows = []
    with gunicorn(log=server_log("throughput"), PROVIDER="bench.providers.InstantProvider") as base:
        asyncio.run(_closed_loop(base, post_bare, 4, 1))  # warm up every worker
        bare = measure(base, "bare Django view (POST /bench/bare)", post_bare)
        message = measure(base, "POST /api/chatbot/messages (SSE to the end)", post_message)
        # Not a goal: the floor of storing a message (session read, one transaction of two inserts).
        asyncio.run(_closed_loop(base, _bare_write, 4, 1))
        floor = measure(base, "reference: session + two inserts in one transaction", _bare_write)
        floor["vs_bare"] = round(floor["req_per_s"] / bare["req_per_s"], 3)
        references = [floor]
        message["vs_storing_floor"] = round(message["req_per_s"] / floor["req_per_s"], 3)
        rows += [bare, message]
    token = None
    with _fake_stream() as fake:
        if fake is not None:
            from tests.fakes.stream_server import API_KEY, API_SECRET

            with gunicorn(
                log=server_log("throughput-stream"),
                PROVIDER="bench.providers.InstantProvider",
                STREAM_CHAT_ENABLED=True,
                STREAM_CHAT_API_KEY=API_KEY,
                STREAM_CHAT_API_SECRET=API_SECRET,
                STREAM_CHAT_BASE_URL=fake.url,
            ) as base:
                asyncio.run(_closed_loop(base, post_bare, 4, 1))
                bare_stream = measure(base, "bare Django view (same server, Stream on)", post_bare)
                # Stream calls are counted from when every visitor has had its first token (which
                # creates its Stream user and channel) to the end of the timed part.
                mark = []
                name = "POST /api/chatbot/stream-chat-token (returning)"
                token = measure(base, name, _token, lambda: mark.append(len(fake.calls)))
                during = fake.calls[mark[0] :]
                token["stream_calls_during_run"] = len(during)
                token["stream_calls_by_op"] = dict(Counter(call.op for call in during))
                # Not a goal: a bare view that reads the visitor's session, as the token must.
                asyncio.run(_closed_loop(base, _bare_session, 4, 1))
                with_session = measure(base, "reference: bare view + session read", _bare_session)
                with_session["vs_bare"] = round(with_session["req_per_s"] / bare_stream["req_per_s"], 3)
                token["vs_session_floor"] = round(token["req_per_s"] / with_session["req_per_s"], 3)
                references.append(with_session)
                rows += [bare_stream, token]
    for index, row in enumerate(rows):
        # Each endpoint against the bare view measured in the same server just before it.
        row["vs_bare"] = round(row["req_per_s"] / rows[index - index % 2]["req_per_s"], 3)
    report.table(f"Throughput, {CLIENTS} clients x {SECONDS:g} s each", [*rows, *references])
    return {
        "clients": CLIENTS,
        "seconds": SECONDS,
        "rows": rows,
        "references": references,
        "message_vs_bare": message["req_per_s"] / bare["req_per_s"],
        "token_vs_bare": token and token["vs_bare"],
        "token_stream_calls": token and token["stream_calls_during_run"],
    }


if __name__ == "__main__":
    report.main("throughput", run)
