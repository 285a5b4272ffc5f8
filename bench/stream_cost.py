"""What a streamed reply costs the server in CPU: per message, and per token, under the WSGI server
``make demo`` runs (gunicorn gthread) and under an ASGI server (uvicorn with httptools and uvloop),
one worker each, same load, same paced provider.

20 visitors, two turns each, the provider streaming 10 and then 100 tokens a reply (first token
after 100 ms, then one every 20 ms); the worker's CPU time (user + system, ``/proc/PID/stat``) over
each run is divided by the messages. The difference between the two lengths, divided by 90, is the
cost of one token; the rest is the cost of a message. Neither figure is a goal of its own: they say
where the server's CPU goes when many conversations stream at once (see Relay overhead).

    python -m bench stream_cost
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import report
from bench.load import Visitor
from bench.servers import bench_env, ensure_database, free_port, gunicorn, pacer, process, server_log

VISITORS, TURNS, ROUNDS = 20, 2, 3
TTFT, INTERVAL = 0.1, 0.02
SHORT, LONG = 10, 100


@contextmanager
def _uvicorn(log: Path, **chatbot: Any) -> Iterator[str]:
    """One uvicorn worker (httptools, uvloop) on a free port; yields its base URL."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "shop_site.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
    ]
    with process(args, port, bench_env(**chatbot), log):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _server(kind: str, provider_url: str) -> Iterator[tuple[str, list[int]]]:
    """One worker of ``kind``; yields its base URL and the pids whose CPU time counts."""
    chatbot = {"PROVIDER": "openai", "OPENAI_BASE_URL": provider_url, "OPENAI_MODEL": "bench", "OPENAI_API_KEY": ""}
    log = server_log(f"stream_cost-{kind}")
    server = gunicorn(workers=1, server="wsgi", log=log, **chatbot) if kind == "wsgi" else _uvicorn(log, **chatbot)
    with server as base:
        port = urlsplit(base).port
        found = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}|--port {port}"], capture_output=True, text=True)
        yield base, [int(pid) for pid in found.stdout.split()]


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _converse(base: str, turns: int) -> int:
    async with Visitor(base) as visitor:
        failures = 0
        for _ in range(turns):
            failures += (await visitor.ask("hello")).outcome != "done"
        return failures


def _cpu_per_message(kind: str, tokens: int) -> tuple[float, int]:
    """Median over ``ROUNDS`` runs of the worker's CPU milliseconds per message, and the failures."""
    samples, failures = [], 0
    with pacer(ttft=TTFT, interval=INTERVAL, tokens=tokens) as provider_url, _server(kind, provider_url) as served:
        base, pids = served
        asyncio.run(_converse(base, 2))  # warm up: imports, connections
        for _ in range(ROUNDS):
            before = _cpu_seconds(pids)

            async def load() -> list[int]:
                return await asyncio.gather(*(_converse(base, TURNS) for _ in range(VISITORS)))

            failures += sum(asyncio.run(load()))
            samples.append(1000 * (_cpu_seconds(pids) - before) / (VISITORS * TURNS))
    return statistics.median(samples), failures


def run() -> dict:
    ensure_database()
    rows = []
    for kind, server in (("wsgi", "gunicorn gthread"), ("asgi", "uvicorn (httptools, uvloop)")):
        short, short_failed = _cpu_per_message(kind, SHORT)
        long, long_failed = _cpu_per_message(kind, LONG)
        per_token = (long - short) / (LONG - SHORT)
        row = {
            "server": server,
            f"cpu_ms_per_message_{SHORT}_tokens": round(short, 1),
            f"cpu_ms_per_message_{LONG}_tokens": round(long, 1),
            "cpu_us_per_token": round(1000 * per_token),
            "cpu_ms_per_message_without_tokens": round(short - SHORT * per_token, 1),
            "failed": short_failed + long_failed,
        }
        rows.append(row)
        print(row, flush=True)
    report.table("Server CPU per streamed reply (one worker, 20 visitors x 2 turns, median of 3)", rows)
    return {"rows": rows}


if __name__ == "__main__":
    report.main("stream_cost", run)
