"""Relay overhead: time to first token through ``POST /api/chatbot/messages`` divided by the
provider's own time to first token, at 1, 50 and 200 concurrent conversations.

The provider is ``bench.pacer`` behind the real OpenAI provider: first token after 500 ms (the low end
of what hosted models take), then a token every 50 ms, 40 tokens. Goals: ratio at most 1.05 at 1
conversation, p99 overhead under 50 ms at 200. Two kinds of load at 50 and 200: "steady" (that many
conversations streaming at once, messages arriving spread out, three turns each) and "burst" (every
message in the same instant, the worst case).

    python -m bench relay_overhead

``BENCH_SERVERS`` (``asgi,wsgi`` by default) names the production servers measured, one after the
other in the same run: the ASGI one ``make demo`` runs, and the WSGI option (gunicorn gthread).
"""

from __future__ import annotations

import os

from bench import report
from bench.servers import ensure_database, gunicorn, pacer, server_log
from bench.waves import run_steady, run_wave, warm_up

TTFT, INTERVAL, TOKENS = 0.5, 0.05, 40
REPLY_SECONDS = TTFT + TOKENS * INTERVAL
LEVELS = (1, 50, 200)
SERVERS = os.environ.get("BENCH_SERVERS", "asgi,wsgi").split(",")


def run(levels: tuple[int, ...] = LEVELS) -> dict:
    ensure_database()
    results = {}
    for server in SERVERS:
        results[server] = _run_server(server, levels)
    first = results[SERVERS[0]]
    return {**first, "servers": results}


def _run_server(server: str, levels: tuple[int, ...]) -> dict:
    rows = []
    with (
        pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url,
        gunicorn(
            PROVIDER="openai",
            OPENAI_BASE_URL=provider_url,
            OPENAI_MODEL="bench",
            OPENAI_API_KEY="",
            server=server,
            log=server_log(f"relay_overhead-{server}"),
        ) as base,
    ):
        warm_up(base)
        for n in levels:
            if n == 1:
                # One conversation at a time, 20 times over: a median of one sample would be noise.
                wave = run_wave(base, provider_url, 1, TOKENS, repeat=20)
                row = {"server": server, "mode": "alone", **wave.summary()}
            else:
                # n conversations streaming at once, their messages arriving spread over one reply's
                # length, three turns each: the load a shop with n people chatting puts on the server.
                steady = run_steady(base, provider_url, n, TOKENS, 3, REPLY_SECONDS)
                row = {"server": server, "mode": "steady", **steady.summary()}
            rows.append(row)
            print(row, flush=True)
        for n in levels[1:]:
            # The worst case: n messages in the same instant.
            row = {"server": server, "mode": "burst", **run_wave(base, provider_url, n, TOKENS).summary()}
            rows.append(row)
            print(row, flush=True)
    alone = rows[0]
    steady_max = [r for r in rows if r["mode"] == "steady"][-1]
    verdict = {
        "ratio_at_1": alone["ratio_p50"],
        "ratio_goal_met": alone["ratio_p50"] <= 1.05,
        "p99_overhead_steady_at_max_ms": steady_max["overhead_p99_ms"],
        "p99_goal_met": steady_max["overhead_p99_ms"] < 50 and steady_max["errors"] == 0,
    }
    report.table(f"Relay overhead (time to first token, API / provider), {server}", rows)
    return {"rows": rows, **verdict}


if __name__ == "__main__":
    report.main("relay_overhead", run)
