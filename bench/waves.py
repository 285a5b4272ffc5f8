"""One wave: N visitors each ask one question at the same moment and read the whole streamed reply;
afterwards the database is checked for every question and every finished reply."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import psycopg

from bench.load import Result, Visitor, median, percentile, provider_ttft
from bench.servers import DATABASE_URL


@dataclass
class Wave:
    n: int
    results: list[Result]
    provider_ttft: float
    stored_questions: int
    finished_replies: int
    seconds: float
    repeat: int = 1

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.outcome != "done")

    @property
    def ttfts(self) -> list[float]:
        return [r.ttft for r in self.results if r.ttft is not None]

    @property
    def lost(self) -> int:
        """Questions not stored plus replies not stored complete."""
        asked = self.n * self.repeat
        return (asked - self.stored_questions) + (asked - self.finished_replies)

    def summary(self) -> dict:
        ttfts = self.ttfts
        overheads = [t - self.provider_ttft for t in ttfts]
        return {
            "conversations": self.n,
            "samples": len(self.results),
            "provider_ttft_ms": round(self.provider_ttft * 1000, 1),
            "api_ttft_p50_ms": round(median(ttfts) * 1000, 1),
            "api_ttft_p99_ms": round(percentile(ttfts, 99) * 1000, 1),
            "ratio_p50": round(median(ttfts) / self.provider_ttft, 3),
            "overhead_p50_ms": round(median(overheads) * 1000, 1),
            "overhead_p99_ms": round(percentile(overheads, 99) * 1000, 1),
            "errors": self.errors,
            "outcomes": sorted({r.outcome for r in self.results}),
            "lost": self.lost,
            "wall_s": round(self.seconds, 2),
        }


def _max_message_id() -> int:
    with psycopg.connect(DATABASE_URL) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM chatbot_message").fetchone()[0]


def _stored_since(first_id: int, tokens: int) -> tuple[int, int]:
    with psycopg.connect(DATABASE_URL) as conn:
        questions = conn.execute(
            "SELECT count(*) FROM chatbot_message WHERE id > %s AND role = 'user'", (first_id,)
        ).fetchone()[0]
        # A reply is complete when it is marked done and holds every token the provider sent.
        finished = conn.execute(
            "SELECT count(*) FROM chatbot_message WHERE id > %s AND role = 'assistant' AND status = 'done'"
            " AND text LIKE %s",
            (first_id, f"%tok{tokens - 1} "),
        ).fetchone()[0]
    return questions, finished


async def _measure_provider(pacer_url: str, n: int) -> float:
    ttfts = await asyncio.gather(*(provider_ttft(pacer_url) for _ in range(n)))
    return median(list(ttfts))


async def _converse(base: str, n: int, rounds: int, spread: float) -> list[Result]:
    """``n`` conversations whose starts are spread evenly over ``spread`` seconds, each asking ``rounds``
    questions one after the other: about ``n`` replies stream at any moment, arriving steadily."""

    async def one(index: int) -> list[Result]:
        await asyncio.sleep(spread * index / n)
        async with Visitor(base) as visitor:
            return [await visitor.ask(f"Question {index}.{turn}: walking boots?") for turn in range(rounds)]

    return [result for results in await asyncio.gather(*(one(i) for i in range(n))) for result in results]


def run_steady(base: str, pacer_url: str, n: int, tokens: int, rounds: int, spread: float) -> Wave:
    ttft = asyncio.run(_measure_provider(pacer_url, min(n, 50)))
    first_id = _max_message_id()
    started = time.perf_counter()
    results = asyncio.run(_converse(base, n, rounds, spread))
    seconds = time.perf_counter() - started
    questions, finished = _stored_since(first_id, tokens)
    return Wave(n, results, ttft, questions, finished, seconds, rounds)


async def _ask_all(base: str, n: int) -> list[Result]:
    async def one(index: int) -> Result:
        async with Visitor(base) as visitor:
            return await visitor.ask(f"Question {index}: do you have walking boots?")

    return await asyncio.gather(*(one(i) for i in range(n)))


def run_wave(base: str, pacer_url: str, n: int, tokens: int, repeat: int = 1) -> Wave:
    """``repeat`` waves one after the other (for small N, so a percentile has enough samples)."""
    ttft = asyncio.run(_measure_provider(pacer_url, min(n * repeat, 50)))
    first_id = _max_message_id()
    started = time.perf_counter()
    results = []
    for _ in range(repeat):
        results += asyncio.run(_ask_all(base, n))
    seconds = time.perf_counter() - started
    questions, finished = _stored_since(first_id, tokens)
    return Wave(n, results, ttft, questions, finished, seconds, repeat)


def warm_up(base: str, rounds: int = 2, n: int = 8) -> None:
    """Let every worker import everything and open its connections before anything is timed."""
    for _ in range(rounds):
        asyncio.run(_ask_all(base, n))
