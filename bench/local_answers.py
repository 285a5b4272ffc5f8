"""The local assistant on a 10,000-product catalogue: how long a visitor waits for the first words and
for the whole answer, through ``POST /api/chatbot/messages`` on the production server.

The assistant's typing delay (``LOCAL_STREAM_DELAY``) is set to 0, so the figures are the time spent
finding the answer (catalogue search, stock, policies, orders), not the cosmetic pacing. Questions are
asked one at a time by fresh visitors, ``ROUNDS`` times over a fixed list.

    python -m bench local_answers
"""

from __future__ import annotations

import asyncio
import os

from bench import report
from bench.load import Visitor, median, percentile
from bench.servers import CATALOG_SIZE, ensure_database, gunicorn, server_log

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
QUESTIONS = {
    "product search": "Do you have waterproof walking boots?",
    "product, colour": "I need a navy merino wool scarf",
    "price and stock": "How much is the insulated kettle and is it in stock?",
    "no match": "Do you sell surfboards?",
    "policy": "How long does shipping take?",
    "returns": "Can I return an item after 20 days?",
    "guest order": "Where is my order 100001? My email is guest@example.com",
    "Chinese": "有没有绿茶？",
    "greeting": "Hello",
}


async def _ask(base: str, text: str):
    async with Visitor(base) as visitor:
        return await visitor.ask(text)


def run() -> dict:
    ensure_database()
    rows = []
    everything_first, everything_total = [], []
    with gunicorn(log=server_log("local_answers"), PROVIDER="local", LOCAL_STREAM_DELAY=0) as base:
        for text in QUESTIONS.values():  # warm up
            asyncio.run(_ask(base, text))
        for kind, text in QUESTIONS.items():
            results = [asyncio.run(_ask(base, text)) for _ in range(ROUNDS)]
            first = [r.ttft for r in results if r.ttft is not None]
            total = [r.total for r in results if r.outcome == "done"]
            everything_first += first
            everything_total += total
            rows.append({
                "question": kind,
                "first_words_p50_ms": round(median(first) * 1000, 1),
                "answer_p50_ms": round(median(total) * 1000, 1),
                "answer_max_ms": round(max(total) * 1000, 1) if total else None,
                "errors": sum(1 for r in results if r.outcome != "done"),
            })
    summary = {
        "products": CATALOG_SIZE,
        "first_words_p50_ms": round(median(everything_first) * 1000, 1),
        "first_words_p95_ms": round(percentile(everything_first, 95) * 1000, 1),
        "answer_p50_ms": round(median(everything_total) * 1000, 1),
        "answer_p95_ms": round(percentile(everything_total, 95) * 1000, 1),
        "answers": len(everything_total),
    }
    report.table(f"Local assistant, {CATALOG_SIZE} products, {ROUNDS} rounds", rows)
    report.table("All questions", [summary])
    return {"rows": rows, **summary}


if __name__ == "__main__":
    report.main("local_answers", run)
