"""Slow streams: 1,000 replies streaming at once from a slow provider (first token after 10 s, then
one a second), while a shopper browses: where the server holds, where it degrades, and what an open
stream costs in memory.

The provider is ``bench.pacer`` behind the real OpenAI provider. ``BENCH_STREAMS`` visitors (1,000),
each with their own session and CSRF cookie, ask one question each, the starts spread over
``BENCH_RAMP`` seconds (5); every reply is read to its end and must end with ``done`` holding the full
text (``BENCH_REPLY_TOKENS`` tokens, 20), and be stored complete. Meanwhile a second client asks for
the catalogue's first page and for ``/api/chatbot/health``, each about every 100 ms, from a few
seconds before the streams to their end. The server's memory is the resident size summed over its
process tree (``/proc/PID/status``), sampled twice a second: before the streams (after a warm-up)
and at the peak; their difference over the streams is the memory one open stream holds.

``BENCH_SERVER`` picks the servers, comma-separated (``wsgi,uvicorn`` by default):

* ``wsgi``: the WSGI option (gunicorn gthread, ``WEB_CONCURRENCY`` x ``WEB_THREADS``);
* ``uvicorn``: the production command ``make demo`` runs (gunicorn with uvicorn's worker,
  ``uvicorn_worker.UvicornWorker``, on ``shop_site.asgi:application``);
* ``granian``: ``granian --interface asgi shop_site.asgi:application``, ``WEB_CONCURRENCY`` workers.

Rate limits and the per-address stream cap are off (every visitor comes from 127.0.0.1). Every run
is bounded by ``BENCH_HARD_SECONDS`` (300): replies still open then count as unfinished, and every
process is stopped.

    python -m bench slow_streams
    BENCH_SERVER=uvicorn BENCH_STREAMS=200 python -m bench slow_streams
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

from bench import report
from bench.load import Visitor, median, percentile
from bench.servers import (
    DATABASE_URL,
    THREADS,
    WORKERS,
    bench_env,
    ensure_database,
    free_port,
    pacer,
    process,
    process_tree,
    production_command,
    server_log,
)
from bench.waves import _max_message_id, _stored_since

#: Comma-separated: a run for each number of streams, on each server.
STREAMS = [int(n) for n in os.environ.get("BENCH_STREAMS", "1000").split(",")]
TOKENS = int(os.environ.get("BENCH_REPLY_TOKENS", "20"))
TTFT = float(os.environ.get("BENCH_SLOW_TTFT", "10"))
INTERVAL = float(os.environ.get("BENCH_SLOW_INTERVAL", "1"))
RAMP = float(os.environ.get("BENCH_RAMP", "5"))
HARD_SECONDS = float(os.environ.get("BENCH_HARD_SECONDS", "300"))
SERVERS = os.environ.get("BENCH_SERVER", "wsgi,uvicorn").split(",")
#: The shopper's pages, each asked for about this often.
PROBES = {"catalogue": "/catalogue/", "health": "/api/chatbot/health"}
PROBE_EVERY = 0.1
#: Probing before the streams, for the unloaded figures.
BASELINE_SECONDS = 5.0
#: A reply whose first token came this late after the provider's had to wait for the server.
LATE = 2.0
EXPECTED = "".join(f"tok{index} " for index in range(TOKENS))


def server_command(kind: str, port: int) -> list[str]:
    """The server of ``kind`` on 127.0.0.1:``port``."""
    if kind == "wsgi":
        return [*production_command(port, workers=WORKERS, threads=THREADS, server="wsgi"), "--backlog", "2048"]
    if kind == "uvicorn":
        return [*production_command(port, workers=WORKERS, threads=THREADS, server="asgi"), "--backlog", "2048"]
    if kind == "granian":
        return [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asgi",
            "shop_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
    raise SystemExit(f"BENCH_SERVER: unknown server {kind!r}; choose from wsgi, uvicorn, granian")


@contextlib.contextmanager
def serve(kind: str, provider_url: str, log: Path) -> Iterator[tuple[str, int]]:
    """The server of ``kind`` streaming from ``provider_url``; yields its base URL and root pid."""
    port = free_port()
    env = bench_env(
        PROVIDER="openai",
        OPENAI_BASE_URL=provider_url,
        OPENAI_MODEL="bench",
        OPENAI_API_KEY="",
        MAX_STREAMS_PER_ADDRESS=0,
    )
    args = server_command(kind, port)
    if kind != "granian":
        args += ["--graceful-timeout", "5"]
    with process(args, port, env, log) as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


# -- what the server holds -------------------------------------------------------------------------


def tree_rss(root: int) -> int:
    """Resident bytes summed over ``root``'s process tree."""
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


class Sampler(threading.Thread):
    """Twice a second: the server tree's resident size and the bench database's open connections."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.samples: list[tuple[float, int, int]] = []  # (monotonic, rss bytes, connections)
        self.stopping = threading.Event()

    def run(self) -> None:
        name = DATABASE_URL.rsplit("/", 1)[1]
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while not self.stopping.is_set():
                connections = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
                ).fetchone()[0]
                self.samples.append((time.monotonic(), tree_rss(self.root), connections - 1))
                self.stopping.wait(0.5)

    def between(self, start: float, end: float) -> list[tuple[float, int, int]]:
        return [s for s in self.samples if start <= s[0] <= end]


# -- the load --------------------------------------------------------------------------------------


@dataclass
class Stream:
    start: float = 0.0
    headers: float | None = None  # seconds after start
    first: float | None = None
    end: float | None = None
    outcome: str = ""
    text: str = ""


async def stream_reply(base: str, index: int, stream: Stream, timeout: aiohttp.ClientTimeout) -> None:
    """One visitor's question, read to its end (``done`` with the full text, or why not)."""
    async with Visitor(base) as visitor:
        stream.start = time.monotonic()
        event = ""
        try:
            async with visitor.session.post(
                base + "/api/chatbot/messages",
                data=json.dumps({"text": f"Question {index}: do you have walking boots?"}),
                headers=visitor.headers(),
                timeout=timeout,
            ) as response:
                stream.headers = time.monotonic() - stream.start
                if response.status != 200:
                    stream.outcome = f"http_{response.status}"
                    return
                async for raw in response.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if event == "delta":
                            if stream.first is None:
                                stream.first = time.monotonic() - stream.start
                            stream.text += data.get("text", "")
                        elif event == "done":
                            complete = data.get("text", "").strip() == EXPECTED.strip()
                            stream.outcome = "done" if complete else "done_incomplete"
                        elif event == "error":
                            stream.outcome = data.get("code", "error")
        except (TimeoutError, aiohttp.ClientError) as exc:
            stream.outcome = type(exc).__name__
        finally:
            stream.end = time.monotonic() - stream.start
            if not stream.outcome:
                stream.outcome = "no_final_event"


@dataclass
class Probe:
    path: str
    results: list[tuple[float, float, str]] = field(default_factory=list)  # (started, seconds, outcome)

    async def run(self, base: str, until: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not until.is_set():
                started = time.monotonic()
                try:
                    async with session.get(base + self.path) as response:
                        await response.read()
                        outcome = str(response.status)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    outcome = type(exc).__name__
                self.results.append((started, time.monotonic() - started, outcome))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(until.wait(), max(0.0, PROBE_EVERY - (time.monotonic() - started)))

    def summary(self, start: float, end: float) -> dict:
        chosen = [r for r in self.results if start <= r[0] < end]
        seconds = [r[1] for r in chosen if r[2] == "200"]
        failures: dict[str, int] = {}
        for _, _, outcome in chosen:
            if outcome != "200":
                failures[outcome] = failures.get(outcome, 0) + 1
        return {
            "requests": len(chosen),
            "p50_ms": round(median(seconds) * 1000, 1),
            "p95_ms": round(percentile(seconds, 95) * 1000, 1),
            "max_ms": round(max(seconds, default=float("nan")) * 1000, 1),
            "failed": sum(failures.values()),
            "failures": failures,
        }


async def load(base: str, n: int) -> dict:
    """Probe, then ``n`` streams spread over ``RAMP`` seconds; everything stops at the hard cap."""
    until = asyncio.Event()
    probes = {name: Probe(path) for name, path in PROBES.items()}
    probing = [asyncio.create_task(probe.run(base, until)) for probe in probes.values()]
    await asyncio.sleep(BASELINE_SECONDS)
    began = time.monotonic()
    deadline = began + HARD_SECONDS
    timeout = aiohttp.ClientTimeout(total=HARD_SECONDS, sock_connect=HARD_SECONDS)
    streams = [Stream() for _ in range(n)]
    timeline: list[dict] = []

    async def one(index: int) -> None:
        await asyncio.sleep(RAMP * index / n)
        await stream_reply(base, index, streams[index], timeout)

    async def watch() -> None:
        while True:
            now = time.monotonic()
            started = [s for s in streams if s.start]
            timeline.append(
                {
                    "t": round(now - began, 1),
                    "waiting_for_headers": sum(1 for s in started if s.headers is None and s.end is None),
                    # The response has begun: the server holds the stream (before or after its first token).
                    "open": sum(1 for s in started if s.headers is not None and s.end is None),
                    "streaming": sum(1 for s in started if s.first is not None and s.end is None),
                    "finished": sum(1 for s in started if s.end is not None),
                }
            )
            await asyncio.sleep(1)

    watching = asyncio.create_task(watch())
    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for stream in streams:
        if stream.end is None or stream.outcome == "":
            stream.outcome = "unfinished_at_cap"
    ended = time.monotonic()
    watching.cancel()
    until.set()
    await asyncio.gather(*probing, return_exceptions=True)
    return {"began": began, "ended": ended, "streams": streams, "probes": probes, "timeline": timeline}


def run_one(kind: str, n: int) -> dict:
    with (
        pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url,
        serve(kind, provider_url, log := server_log(f"slow_streams-{kind}-{n}")) as (base, root),
    ):
        # Warm up: every worker imports what a reply needs and opens its connections.
        async def warm() -> None:
            async with aiohttp.ClientSession() as session:
                for path in [*PROBES.values()] * 4:
                    async with session.get(base + path) as response:
                        await response.read()
            await asyncio.gather(
                *(stream_reply(base, -i, Stream(), aiohttp.ClientTimeout(HARD_SECONDS)) for i in range(8))
            )

        asyncio.run(warm())
        sampler = Sampler(root)
        sampler.start()
        first_id = _max_message_id()
        try:
            time.sleep(1.5)
            before = sampler.samples[-1][1]
            ran = asyncio.run(load(base, n))
            processes = len(process_tree(root))
        finally:
            sampler.stopping.set()
            sampler.join()
        stored, complete = _stored_since(first_id, TOKENS)
    began, ended, streams = ran["began"], ran["ended"], ran["streams"]
    during = sampler.between(began, ended)
    peak = max((s[1] for s in during), default=before)
    outcomes: dict[str, int] = {}
    for stream in streams:
        outcomes[stream.outcome] = outcomes.get(stream.outcome, 0) + 1
    firsts = [s.first for s in streams if s.first is not None]
    headers = [s.headers for s in streams if s.headers is not None]
    ends = [s.end for s in streams if s.outcome == "done" and s.end is not None]
    timeline = ran["timeline"]
    return {
        "server": kind,
        "streams": n,
        "reply_tokens": TOKENS,
        "done_complete": outcomes.get("done", 0),
        "errors": n - outcomes.get("done", 0),
        "outcomes": outcomes,
        "lost_or_incomplete_in_database": (n - stored) + (n - complete),
        "first_token_on_time": sum(1 for f in firsts if f <= TTFT + LATE),
        "peak_open_at_once": max((row["open"] for row in timeline), default=0),
        "peak_streaming_at_once": max((row["streaming"] for row in timeline), default=0),
        "peak_waiting_for_headers": max((row["waiting_for_headers"] for row in timeline), default=0),
        "headers_p50_s": round(median(headers), 2),
        "headers_max_s": round(max(headers, default=float("nan")), 2),
        "first_token_p50_s": round(median(firsts), 2),
        "first_token_p95_s": round(percentile(firsts, 95), 2),
        "first_token_max_s": round(max(firsts, default=float("nan")), 2),
        "reply_p50_s": round(median(ends), 2),
        "reply_max_s": round(max(ends, default=float("nan")), 2),
        "wall_s": round(ended - began, 1),
        "storefront": {
            name: {
                "before": probe.summary(began - BASELINE_SECONDS, began),
                "during": probe.summary(began, ended),
            }
            for name, probe in ran["probes"].items()
        },
        "rss_before_mib": round(before / 2**20, 1),
        "rss_peak_mib": round(peak / 2**20, 1),
        "rss_per_stream_kib": round((peak - before) / n / 1024, 1),
        "rss_per_open_stream_kib": round(
            (peak - before) / max(1, max((r["open"] for r in timeline), default=1)) / 1024, 1
        ),
        "server_processes": processes,
        "db_connections_peak": max((s[2] for s in during), default=0),
        "server_log": log_lines(log),
        "timeline": [{**row, "rss_mib": _rss_at(sampler, began + row["t"])} for row in timeline],
    }


def log_lines(log: Path, top: int = 5) -> dict[str, int]:
    """The server's most frequent warnings and errors (lines with the numbers taken out)."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if any(word in line for word in ("WARNING", "ERROR", "Error", "error", "full", "Traceback")):
            key = re.sub(r"\d+", "N", line)[:160]
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:top])


def _rss_at(sampler: Sampler, moment: float) -> float:
    near = min(sampler.samples, key=lambda s: abs(s[0] - moment))
    return round(near[1] / 2**20, 1)


def _raise_open_files() -> None:
    """1,000 sockets each side: the bench and the servers it starts (they inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    most = max(STREAMS)
    if wanted < 2 * most + 100:
        raise SystemExit(f"open files are limited to {wanted}; {most} streams need about {2 * most + 100}")


def run() -> dict:
    _raise_open_files()
    ensure_database()
    rows = []
    for n in STREAMS:
        for kind in SERVERS:
            row = run_one(kind.strip(), n)
            rows.append(row)
            brief = {k: v for k, v in row.items() if k not in ("timeline", "storefront", "outcomes")}
            print(brief, row["outcomes"], json.dumps(row["storefront"]), flush=True)
    report.table(
        f"Slow streams: replies at once (first token after {TTFT:g} s, then {TOKENS - 1} more {INTERVAL:g} s apart)",
        [{k: v for k, v in row.items() if k not in ("timeline", "storefront", "outcomes")} for row in rows],
    )
    report.table(
        "Storefront while they stream (ms)",
        [
            {
                "server": row["server"],
                "page": name,
                **{f"{when}_{k}": v for when, s in pages.items() for k, v in s.items()},
            }
            for row in rows
            for name, pages in row["storefront"].items()
        ],
    )
    return {
        "provider": {"first_token_s": TTFT, "interval_s": INTERVAL, "tokens": TOKENS},
        "ramp_s": RAMP,
        "hard_seconds": HARD_SECONDS,
        "workers": WORKERS,
        "threads": THREADS,
        "rows": rows,
    }


if __name__ == "__main__":
    report.main("slow_streams", run)
