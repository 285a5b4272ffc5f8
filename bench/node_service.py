"""The original Node service (github.com/shygoly/chatbot-node, Express + Prisma) as a comparison row:
server CPU per streamed message and time to first token over the provider's own, measured the way
Stream cost and Relay overhead measure our app.

The service streams ``POST /api/coze/chat/stream`` (public, body ``{shopId, message, userId, botId}``,
data-only events ``started``, ``message`` {content}..., ``completed``, ``[DONE]``) from Coze's
``/v3/chat``; here Coze is :func:`fake_coze`, paced like ``bench.pacer`` and speaking Coze's framing
(the token exchange, then ``event:``/``data:`` lines without a space, ``data:"[DONE]"`` at the end).

* CPU: 20 conversations x 2 turns, replies of 10 and then 100 tokens (first after 100 ms, then one
  every 20 ms), median of 3 rounds, the node process tree's user + system time (``/proc/PID/stat``)
  per message, split into a per-token and a per-message part (as in Stream cost).
* First token: 500 ms, then one every 50 ms, 40 tokens; at 1 conversation (20 times over), 50 and
  200 streaming at once with messages spread over a reply's length (3 turns each), and 50 and 200 in
  the same instant; CPU per message of each level too (it includes what the process spends idle,
  measured on its own over 10 s: at one conversation, mostly waiting, that share is large).

The service is not part of this repository. ``NODE_SERVICE_DIR`` names a checkout built for this
machine; without it the benchmark says so and skips. The checkout needs, once::

    npm pkg delete 'dependencies.@coze/coze-js'   # unused by src/, no longer on the registry
    npm install && npm install @prisma/adapter-pg@6.18.0
    # Prisma's Rust engines are downloaded from outside the npm registry; use its query compiler
    # (wasm, shipped in @prisma/client) instead: engineType = "client" in prisma/schema.prisma's
    # generator, and in src/services/database.ts
    #   new PrismaClient({adapter: new PrismaPg({connectionString: process.env.DATABASE_URL,
    #     max: Number(process.env.PG_POOL_MAX || 5)}, {schema: process.env.DATABASE_SCHEMA}), ...})
    # and a prisma.config.ts with experimental.adapter, engine "js" and the same adapter.
    PRISMA_SCHEMA_ENGINE_BINARY=/dev/null PRISMA_QUERY_ENGINE_LIBRARY=/dev/null npx prisma generate
    npx tsc

Each run lays its tables anew in the schema ``chatbot_node`` of the bench database (from ``prisma
migrate diff --from-empty``), and runs the service as its Dockerfile does (``node dist/index.js``),
``NODE_ENV=production``, logging at ``NODE_LOG_LEVEL`` (default warn, as our bench server logs).

    NODE_SERVICE_DIR=/work/node-svc python -m bench node_service
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg
from aiohttp import web

from bench import report
from bench.load import TIMEOUT, Result, median, percentile
from bench.servers import DATABASE_URL, ensure_database, free_port, process, process_tree, server_log

NODE_DIR = os.environ.get("NODE_SERVICE_DIR", "")
SCHEMA = "chatbot_node"
BOT_ID = "7379462189365198898"
SHOP_ID = "bench-shop"
LOG_LEVEL = os.environ.get("NODE_LOG_LEVEL", "warn")

# As in Stream cost.
VISITORS, TURNS, ROUNDS = 20, 2, 3
COST_TTFT, COST_INTERVAL = 0.1, 0.02
SHORT, LONG = 10, 100
# As in Relay overhead.
TTFT, INTERVAL, TOKENS = 0.5, 0.05, 40
REPLY_SECONDS = TTFT + TOKENS * INTERVAL
LEVELS = (1, 50, 200)
IDLE_SECONDS = 10


# -- the fake Coze ---------------------------------------------------------------------------------


def _event(name: str, data: object) -> bytes:
    # Real captures put no space after the colon.
    return f"event:{name}\ndata:{json.dumps(data)}\n\n".encode()


def fake_coze(ttft: float, interval: float, tokens: int) -> web.Application:
    """Coze's token exchange and a paced ``/v3/chat`` stream: ``tok0 tok1 ...``."""

    async def token(request: web.Request) -> web.Response:
        await request.read()
        # Coze's expires_in is an absolute Unix time.
        return web.json_response({"access_token": "czs_bench", "expires_in": int(time.time()) + 900})

    async def chat(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        body = await request.json()
        ids = {"conversation_id": str(body.get("conversation_id") or "7381473525342978089"), "bot_id": BOT_ID}
        chat = {"id": "7382159487131697202", **ids, "last_error": {"code": 0, "msg": ""}}
        usage = {"token_count": 0, "output_count": 0, "input_count": 0}
        message = {"id": "7382159494123470858", **ids, "chat_id": chat["id"], "role": "assistant", "type": "answer"}
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(_event("conversation.chat.created", {**chat, "status": "created", "usage": usage}))
        await response.write(_event("conversation.chat.in_progress", {**chat, "status": "in_progress", "usage": usage}))
        for index in range(tokens):
            # Paced against the request's arrival, as bench.pacer is.
            await asyncio.sleep(max(0.0, started + ttft + index * interval - time.monotonic()))
            delta = {**message, "content": f"tok{index} ", "content_type": "text"}
            await response.write(_event("conversation.message.delta", delta))
        text = "".join(f"tok{index} " for index in range(tokens))
        await response.write(_event("conversation.message.completed", {**message, "content": text}))
        usage = {"token_count": tokens + 10, "output_count": tokens, "input_count": 10}
        await response.write(_event("conversation.chat.completed", {**chat, "status": "completed", "usage": usage}))
        await response.write(b'event:done\ndata:"[DONE]"\n\n')
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/api/permission/oauth2/token", token)
    app.router.add_post("/v3/chat", chat)
    return app


@contextmanager
def coze(ttft: float, interval: float, tokens: int) -> Iterator[str]:
    """The fake Coze on a free port; yields its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "bench.node_service", "--fake-coze", "--port", str(port)]
    args += ["--ttft", str(ttft), "--interval", str(interval), "--tokens", str(tokens)]
    with process(args, port):
        yield f"http://127.0.0.1:{port}"


async def coze_ttft(base: str) -> float:
    """Time to the first answer delta straight from the fake (no chat server in between)."""
    body = {"bot_id": BOT_ID, "user_id": "1", "stream": True, "additional_messages": []}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        started = time.perf_counter()
        async with session.post(base + "/v3/chat", json=body) as response:
            async for raw in response.content:
                if raw.startswith(b"event:conversation.message.delta"):
                    ttft = time.perf_counter() - started
                    await response.read()
                    return ttft
    raise RuntimeError("the fake Coze sent no token")


# -- the service -----------------------------------------------------------------------------------


def _database_url() -> str:
    return DATABASE_URL


def lay_tables(node_dir: Path) -> None:
    """Drop and create the service's tables in ``SCHEMA``, from its Prisma schema."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "DATABASE_SCHEMA": SCHEMA}
    # The CLI fetches its engines on start unless told where they are; diff needs none of them.
    env |= {"PRISMA_SCHEMA_ENGINE_BINARY": os.devnull, "PRISMA_QUERY_ENGINE_LIBRARY": os.devnull}
    script = subprocess.run(
        [
            "npx",
            "prisma",
            "migrate",
            "diff",
            "--from-empty",
            "--to-schema-datamodel",
            "prisma/schema.prisma",
            "--script",
        ],
        cwd=node_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    with psycopg.connect(_database_url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path TO {SCHEMA}")
        conn.execute(script)


def _private_key(folder: Path) -> Path:
    """A throwaway RSA key for the service's JWT (the fake Coze does not check it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "coze-private-key.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


@contextmanager
def node_service(node_dir: Path, coze_url: str, log: Path) -> Iterator[tuple[str, int]]:
    """``node dist/index.js`` on a free port; yields its base URL and pid."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "NODE_ENV": "production",
            "PORT": str(port),
            "LOG_LEVEL": LOG_LEVEL,
            "DATABASE_URL": _database_url(),
            "DATABASE_SCHEMA": SCHEMA,
            "COZE_BASE_URL": coze_url,
            "COZE_CLIENT_ID": "1170000000001",
            "COZE_PUBLIC_KEY": "kid-bench",
            "COZE_PRIVATE_KEY_PATH": str(_private_key(Path(folder))),
            # Its webhook queue (bull) connects to Redis, as deployed.
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
        }
        with process(["node", "dist/index.js"], port, env, log, cwd=node_dir) as proc:
            yield f"http://127.0.0.1:{port}", proc.pid


def cpu_seconds(root: int) -> float:
    """User + system CPU time of ``root``'s process tree."""
    ticks = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended in between
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


# -- the load --------------------------------------------------------------------------------------


@dataclass
class NodeResult(Result):
    completions: int = 0


async def ask(session: aiohttp.ClientSession, base: str, user_id: int, text: str) -> NodeResult:
    """POST the stream endpoint and read it to its end; the first ``message`` event is time to first
    token; "done" needs a ``completed`` event and ``[DONE]``."""
    result = NodeResult()
    body = {"shopId": SHOP_ID, "message": text, "userId": str(user_id), "botId": BOT_ID}
    started = time.perf_counter()
    finished = False
    try:
        async with session.post(base + "/api/coze/chat/stream", json=body) as response:
            result.status = response.status
            if response.status != 200:
                result.outcome = f"http_{response.status}"
                await response.read()
                return result
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    finished = True
                    continue
                data = json.loads(line[6:])
                if data.get("event") == "message":
                    if result.ttft is None:
                        result.ttft = time.perf_counter() - started
                    result.deltas += 1
                    result.text += data.get("content", "")
                elif data.get("event") == "completed":
                    result.completions += 1
                elif data.get("event") == "error":
                    result.outcome = "error: " + str(data.get("error"))[:60]
    except (TimeoutError, aiohttp.ClientError) as exc:
        result.outcome = type(exc).__name__
    result.total = time.perf_counter() - started
    if not result.outcome:
        result.outcome = "done" if finished and result.completions else "no_final_event"
    return result


async def _conversations(base: str, n: int, turns: int, spread: float, first_user: int) -> list[NodeResult]:
    """``n`` conversations (a user id each), starts spread over ``spread`` seconds, ``turns`` each."""

    async def one(index: int) -> list[NodeResult]:
        await asyncio.sleep(spread * index / n)
        async with aiohttp.ClientSession(timeout=TIMEOUT, connector=aiohttp.TCPConnector(limit=0)) as session:
            return [
                await ask(session, base, first_user + index, f"Question {index}.{turn}: walking boots?")
                for turn in range(turns)
            ]

    return [r for results in await asyncio.gather(*(one(i) for i in range(n))) for r in results]


def _stored(tokens: int) -> tuple[int, int, int]:
    """Questions stored, bot replies stored complete, and bot rows in all."""
    with psycopg.connect(_database_url()) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        questions = conn.execute("SELECT count(*) FROM coze_chat_history WHERE sender = 'user'").fetchone()[0]
        text = "".join(f"tok{index} " for index in range(tokens))
        complete = conn.execute(
            "SELECT count(DISTINCT id) FROM coze_chat_history WHERE sender = 'bot' AND content = %s", (text,)
        ).fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM coze_chat_history WHERE sender = 'bot'").fetchone()[0]
    return questions, complete, rows


def _clear() -> None:
    with psycopg.connect(_database_url(), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {SCHEMA}.coze_chat_history, {SCHEMA}.coze_conversation RESTART IDENTITY")


_next_user = 1000


def measure(base: str, pid: int, coze_url: str, n: int, turns: int, spread: float, tokens: int) -> dict:
    """One load: ``n`` conversations x ``turns``; first-token overhead, CPU per message, losses."""
    global _next_user
    provider = median(list(asyncio.run(_gather(coze_ttft(coze_url) for _ in range(min(n, 50))))))
    _clear()
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    results = asyncio.run(_conversations(base, n, turns, spread, _next_user))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    _next_user += n
    asked = len(results)
    questions, complete, rows = _stored(tokens)
    expected = "".join(f"tok{index} " for index in range(tokens))
    ttfts = [r.ttft for r in results if r.ttft is not None]
    overheads = [t - provider for t in ttfts]
    return {
        "conversations": n,
        "samples": asked,
        "provider_ttft_ms": round(provider * 1000, 1),
        "api_ttft_p50_ms": round(median(ttfts) * 1000, 1),
        "api_ttft_p99_ms": round(percentile(ttfts, 99) * 1000, 1),
        "overhead_p50_ms": round(median(overheads) * 1000, 1),
        "overhead_p99_ms": round(percentile(overheads, 99) * 1000, 1),
        "cpu_ms_per_message": round(1000 * cpu / asked, 2),
        "errors": sum(1 for r in results if r.outcome != "done"),
        "outcomes": sorted({r.outcome for r in results}),
        "incomplete_text": sum(1 for r in results if r.text != expected),
        "completed_events_per_reply": sorted({r.completions for r in results}),
        # The service may store a reply twice (bot_rows_per_reply says how often it did).
        "lost": max(0, asked - questions) + max(0, asked - complete),
        "bot_rows_per_reply": round(rows / asked, 2),
        "wall_s": round(seconds, 2),
    }


async def _gather(aws) -> list:
    return await asyncio.gather(*aws)


def cpu_per_message(node_dir: Path, tokens: int) -> tuple[float, int]:
    """As Stream cost: median over ``ROUNDS`` of the service's CPU ms per message, and the failures."""
    samples, failures = [], 0
    with (
        coze(COST_TTFT, COST_INTERVAL, tokens) as coze_url,
        node_service(node_dir, coze_url, server_log(f"node_service-cost-{tokens}")) as (base, pid),
    ):
        measure(base, pid, coze_url, 2, 2, 0, tokens)  # warm up: JIT, the token, connections
        for _ in range(ROUNDS):
            row = measure(base, pid, coze_url, VISITORS, TURNS, 0, tokens)
            samples.append(row["cpu_ms_per_message"])
            failures += row["errors"] + row["lost"]
    return statistics.median(samples), failures


def run(node_dir: Path) -> dict:
    ensure_database()  # the service keeps to a schema of its own in it
    lay_tables(node_dir)
    short, short_failed = cpu_per_message(node_dir, SHORT)
    long, long_failed = cpu_per_message(node_dir, LONG)
    per_token = (long - short) / (LONG - SHORT)
    cost = {
        "server": "chatbot-node (node dist/index.js, one process)",
        f"cpu_ms_per_message_{SHORT}_tokens": round(short, 1),
        f"cpu_ms_per_message_{LONG}_tokens": round(long, 1),
        "cpu_us_per_token": round(1000 * per_token),
        "cpu_ms_per_message_without_tokens": round(short - SHORT * per_token, 1),
        "failed": short_failed + long_failed,
    }
    report.table("chatbot-node: CPU per streamed reply (20 visitors x 2 turns, median of 3)", [cost])
    rows = []
    with (
        coze(TTFT, INTERVAL, TOKENS) as coze_url,
        node_service(node_dir, coze_url, server_log("node_service")) as served,
    ):
        base, pid = served
        measure(base, pid, coze_url, 8, 2, 0, TOKENS)  # warm up
        # What the process spends doing nothing (timers, its Redis queue): part of every row's CPU.
        idle = cpu_seconds(pid)
        time.sleep(IDLE_SECONDS)
        idle_ms_per_s = round(1000 * (cpu_seconds(pid) - idle) / IDLE_SECONDS, 1)
        for n in LEVELS:
            if n == 1:
                row = {"mode": "alone", **measure(base, pid, coze_url, 1, 20, 0, TOKENS)}
            else:
                row = {"mode": "steady", **measure(base, pid, coze_url, n, 3, REPLY_SECONDS, TOKENS)}
            rows.append(row)
            print(row, flush=True)
        for n in LEVELS[1:]:
            row = {"mode": "burst", **measure(base, pid, coze_url, n, 1, 0, TOKENS)}
            rows.append(row)
            print(row, flush=True)
    report.table("chatbot-node: time to first token over the provider's (first token 500 ms, 40 x 50 ms)", rows)
    return {
        "service": "github.com/shygoly/chatbot-node",
        "log_level": LOG_LEVEL,
        "cpu": cost,
        "idle_cpu_ms_per_s": idle_ms_per_s,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake-coze", action="store_true", help="serve the paced fake Coze only")
    parser.add_argument("--port", type=int)
    parser.add_argument("--ttft", type=float, default=TTFT)
    parser.add_argument("--interval", type=float, default=INTERVAL)
    parser.add_argument("--tokens", type=int, default=TOKENS)
    args = parser.parse_args()
    if args.fake_coze:
        app = fake_coze(args.ttft, args.interval, args.tokens)
        web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=2048)
        return
    node_dir = Path(NODE_DIR) if NODE_DIR else None
    if node_dir is None or not (node_dir / "dist" / "index.js").is_file():
        where = f"{NODE_DIR}/dist/index.js is missing" if NODE_DIR else "NODE_SERVICE_DIR is not set"
        print(f"node_service skipped: {where} (a built checkout of github.com/shygoly/chatbot-node; see the docstring)")
        sys.exit(0)
    report.main("node_service", lambda: run(node_dir))


if __name__ == "__main__":
    main()
