"""Relay overhead: time to first token through ``POST /api/chatbot/messages`` divided by the
provider's own time to first token, at 1, 50 and 200 concurrent conversations.

The provider is ``bench.pacer`` behind the real OpenAI provider: first token after 500 ms (the low end
of what hosted models take), then a token every 50 ms, 40 tokens. Goals: ratio at most 1.05 at 1
conversation, p99 overhead under 50 ms at 200.

    python -m bench relay_overhead
"""

from __future__ import annotations

from bench import report
from bench.servers import ensure_database, gunicorn, pacer, server_log
from bench.waves import run_wave, warm_up

TTFT, INTERVAL, TOKENS = 0.5, 0.05, 40
LEVELS = (1, 50, 200)


def run(levels: tuple[int, ...] = LEVELS) -> dict:
    ensure_database()
    rows = []
    with pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url, gunicorn(
        PROVIDER="openai", OPENAI_BASE_URL=provider_url, OPENAI_MODEL="bench", OPENAI_API_KEY="",
        log=server_log("relay_overhead"),
    ) as base:
        warm_up(base)
        for n in levels:
            # One conversation at a time, 20 times over: a median of one sample would be noise.
            rows.append(run_wave(base, provider_url, n, TOKENS, repeat=20 if n == 1 else 1).summary())
            print(rows[-1], flush=True)
    verdict = {
        "ratio_at_1": rows[0]["ratio_p50"],
        "ratio_goal_met": rows[0]["ratio_p50"] <= 1.05,
        "p99_overhead_at_max_ms": rows[-1]["overhead_p99_ms"],
        "p99_goal_met": rows[-1]["overhead_p99_ms"] < 50 and rows[-1]["errors"] == 0,
    }
    report.table("Relay overhead (time to first token, API / provider)", rows)
    return {"rows": rows, **verdict}


if __name__ == "__main__":
    report.main("relay_overhead", run)
