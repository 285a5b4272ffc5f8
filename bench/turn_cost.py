"""What one chat turn costs the application itself, without a server: CPU time and queries per
``POST /api/chatbot/messages`` through Django's test client, with a provider that answers "ok" at once,
for returning visitors (sessions in the shared cache, as the benchmarks' servers run).

CPU time of this process (``time.process_time``) is far less sensitive to other work on the machine
than requests per second are, so this is the figure to compare two commits with: run it from each
checkout (``cd <checkout> && python -m bench turn_cost``; the checkout's own ``chatbot`` is imported).

    python -m bench turn_cost
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from bench import report
from bench.servers import CACHE_URL, DATABASE_URL, ensure_database

VISITORS, ROUNDS, PER_ROUND = 10, 5, 60


def run() -> dict:
    ensure_database()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": DATABASE_URL,
            "CACHE_URL": CACHE_URL,
            "BENCH_CHATBOT": json.dumps({"PROVIDER": "bench.providers.InstantProvider"}),
        }
    )
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    token = "b" * 32
    visitors = []
    for _ in range(VISITORS):
        client = Client(enforce_csrf_checks=True)
        client.cookies["csrftoken"] = token
        visitors.append(client)

    def ask(client: Client) -> None:
        response = client.post(
            "/api/chatbot/messages",
            json.dumps({"text": "hello"}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=token,
        )
        body = b"".join(response.streaming_content)
        response.close()
        assert b"event: done" in body, body[-300:]

    for client in visitors:  # sessions, conversations, warm caches
        ask(client)
        ask(client)
    # The log is emptied when a request starts; the capture must start from an empty one.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        ask(visitors[0])
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for index in range(PER_ROUND):
            ask(visitors[index % VISITORS])
        rounds.append(1000 * (time.process_time() - started) / PER_ROUND)
    import chatbot

    row = {
        "checkout": os.path.dirname(os.path.dirname(chatbot.__file__)),
        "cpu_ms_per_message_median": round(statistics.median(rounds), 2),
        "cpu_ms_per_message_min": round(min(rounds), 2),
        "queries_per_message": len(queries.captured_queries),
    }
    print(row, flush=True)
    report.table(f"One chat turn in process ({ROUNDS} rounds of {PER_ROUND} messages)", [row])
    return {"rows": [row], "rounds_ms": [round(r, 2) for r in rounds]}


if __name__ == "__main__":
    report.main("turn_cost", run)
