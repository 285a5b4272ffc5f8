"""Concurrency: conversations streaming at once under the production server (gunicorn gthread,
``WEB_CONCURRENCY`` workers x ``WEB_THREADS`` threads as in the Makefile), zero errors and no message
lost, and the point where it degrades.

N conversations stream at once (paced provider: first token after 500 ms, 40 tokens 50 ms apart, so
every reply streams for about 2.5 s; messages arrive spread over one reply's length, three turns per
conversation). N grows until errors or lost messages appear (or ``BENCH_LEVELS`` ends). A level is
"slow" when its p99 time to first token is more than ``SLOW_MS`` over the provider's, "failing" with
any error or lost message. The last level neither is the capacity.

    python -m bench concurrency            # 50 -> 400 conversations
    WEB_THREADS=64 python -m bench concurrency
"""

from __future__ import annotations

import os

from bench import report
from bench.relay_overhead import INTERVAL, REPLY_SECONDS, TOKENS, TTFT
from bench.servers import THREADS, WORKERS, ensure_database, gunicorn, pacer, server_log
from bench.waves import run_steady, warm_up

LEVELS = tuple(int(n) for n in os.environ.get("BENCH_LEVELS", "50,100,150,200,300,400").split(","))
#: A level whose p99 time to first token is this far over the provider's counts as slow.
SLOW_MS = 1000


def degraded(row: dict) -> str:
    if row["errors"]:
        return f"failing: {row['errors']} errors {row['outcomes']}"
    if row["lost"]:
        return f"failing: {row['lost']} messages lost"
    if row["overhead_p99_ms"] > SLOW_MS:
        return f"slow: p99 first token {row['overhead_p99_ms']:.0f} ms late"
    return ""


def run(levels: tuple[int, ...] = LEVELS, workers: int = WORKERS, threads: int = THREADS) -> dict:
    ensure_database()
    rows = []
    log = server_log(f"concurrency-{workers}x{threads}")
    with (
        pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url,
        gunicorn(
            workers=workers,
            threads=threads,
            log=log,
            PROVIDER="openai",
            OPENAI_BASE_URL=provider_url,
            OPENAI_MODEL="bench",
            OPENAI_API_KEY="",
        ) as base,
    ):
        warm_up(base)
        for n in levels:
            row = run_steady(base, provider_url, n, TOKENS, 3, REPLY_SECONDS).summary()
            row["degraded"] = degraded(row) or "no"
            rows.append(row)
            print(row, flush=True)
            if row["degraded"].startswith("failing"):
                break
    capacity = max((r["conversations"] for r in rows if r["degraded"] == "no"), default=0)
    first_slow = next((r for r in rows if r["degraded"].startswith("slow")), None)
    first_bad = next((r for r in rows if r["degraded"].startswith("failing")), None)
    report.table(f"Concurrency, gunicorn gthread {workers} workers x {threads} threads", rows)
    return {
        "server": f"gunicorn gthread, {workers} workers x {threads} threads",
        "rows": rows,
        "capacity": capacity,
        "slow_from": first_slow and first_slow["conversations"],
        "failing_from": first_bad and first_bad["conversations"],
        "failing_because": first_bad and first_bad["degraded"],
        "server_errors_logged": _errors_in(log),
    }


def _errors_in(log) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if "[ERROR]" in line)


if __name__ == "__main__":
    report.main("concurrency", run)
