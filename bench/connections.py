"""Database connections: the demo's connection gate (``shop_site.database``) against Django's own
psycopg pool (``DB_POOL=true``: ``OPTIONS["pool"]`` with ``CONN_HEALTH_CHECKS``), back to back in one
run against the same database, so that their ratios can be compared on a shared machine.

Each variant runs ``ROUNDS`` times, alternating (gate, pool, gate, pool), the same server otherwise:

* **recovery**: 16 visitors have chatted (the server holds their connections), then every backend of
  the bench database is terminated (``pg_terminate_backend``, that database only) and the 16 ask again
  at once; their slowest answer and their errors, against the same wave without a kill just before;
* **throughput**: ``POST /api/chatbot/messages`` with a provider that answers at once, 16 visitors
  back to back for 10 s (every message takes a connection, stores, gives it back, takes one again);
* **steady** and **burst** 200 conversations with the paced provider (first token after 500 ms).

    python -m bench connections
"""

from __future__ import annotations

import asyncio
import os

import psycopg

from bench import report
from bench.load import Visitor, median
from bench.relay_overhead import INTERVAL, REPLY_SECONDS, TOKENS, TTFT
from bench.servers import DATABASE_URL, ensure_database, gunicorn, pacer, server_log
from bench.throughput import measure, post_bare, post_message
from bench.waves import run_steady, run_wave, warm_up

VARIANTS = {"gate": {"DB_POOL": "false"}, "pool": {"DB_POOL": "true"}}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
VISITORS = 16
KILLS = 3
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "200"))


def terminate_backends() -> int:
    """Terminate every connection to the bench database (and no other), as a failover would."""
    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


async def _wave(visitors: list[Visitor]) -> tuple[float, float, int]:
    """Every visitor asks at once: (median seconds, slowest seconds, errors)."""
    results = await asyncio.gather(*(visitor.ask("hello") for visitor in visitors))
    totals = [r.total or 0.0 for r in results]
    return median(totals), max(totals), sum(1 for r in results if r.outcome != "done")


async def _recovery(base: str) -> dict:
    visitors = [Visitor(base) for _ in range(VISITORS)]
    for visitor in visitors:
        await visitor.__aenter__()
    try:
        await _wave(visitors)
        calm, after_kill = [], []
        for _ in range(KILLS):
            calm.append(await _wave(visitors))
            killed = terminate_backends()
            assert killed, "the server held no connection to terminate"
            after_kill.append(await _wave(visitors))
        return {
            "calm_p50_ms": round(median([c[0] for c in calm]) * 1000, 1),
            "calm_max_ms": round(max(c[1] for c in calm) * 1000, 1),
            "killed_p50_ms": round(median([k[0] for k in after_kill]) * 1000, 1),
            "killed_max_ms": round(max(k[1] for k in after_kill) * 1000, 1),
            "killed_errors": sum(k[2] for k in after_kill),
        }
    finally:
        for visitor in visitors:
            await visitor.__aexit__(None, None, None)


def run_variant(name: str, round_: int) -> dict:
    environ = VARIANTS[name]
    row: dict = {"variant": name, "round": round_}
    log = server_log(f"connections-{name}")
    with gunicorn(log=log, environ=environ, PROVIDER="bench.providers.InstantProvider") as base:
        warm_up(base)
        row.update(asyncio.run(_recovery(base)))
        bare = measure(base, f"{name}: bare view", post_bare)
        message = measure(base, f"{name}: POST messages", post_message)
        row["bare_per_s"] = bare["req_per_s"]
        row["messages_per_s"] = message["req_per_s"]
        row["messages_vs_bare"] = round(message["req_per_s"] / bare["req_per_s"], 3)
        row["message_errors"] = sum(n for outcome, n in message["outcomes"].items() if outcome != "done")
    with (
        pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url,
        gunicorn(
            log=server_log(f"connections-{name}-paced"),
            environ=environ,
            PROVIDER="openai",
            OPENAI_BASE_URL=provider_url,
            OPENAI_MODEL="bench",
            OPENAI_API_KEY="",
        ) as base,
    ):
        warm_up(base)
        steady = run_steady(base, provider_url, CONVERSATIONS, TOKENS, 3, REPLY_SECONDS).summary()
        burst = run_wave(base, provider_url, CONVERSATIONS, TOKENS).summary()
        for label, summary in (("steady", steady), ("burst", burst)):
            row[f"{label}_overhead_p50_ms"] = summary["overhead_p50_ms"]
            row[f"{label}_overhead_p99_ms"] = summary["overhead_p99_ms"]
            row[f"{label}_errors_lost"] = summary["errors"] + summary["lost"]
    print(row, flush=True)
    return row


def run() -> dict:
    ensure_database()
    rows = [run_variant(name, r + 1) for r in range(ROUNDS) for name in VARIANTS]
    report.table(f"Database connections: gate against Django's pool, {ROUNDS} rounds alternating", rows)
    ratios = {}
    for key in ("killed_max_ms", "messages_vs_bare", "steady_overhead_p99_ms", "burst_overhead_p99_ms"):
        pairs = [(g[key], p[key]) for g, p in zip(rows[::2], rows[1::2], strict=True)]
        ratios[f"pool/gate {key}"] = [round(p / g, 2) if g else None for g, p in pairs]
    print(ratios)
    return {"rows": rows, "ratios": ratios, "visitors": VISITORS, "kills_per_round": KILLS}


if __name__ == "__main__":
    report.main("connections", run)
