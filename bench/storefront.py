"""The storefront's own pages (synchronous Oscar views) under each production server: the ASGI one
``make demo`` runs (gunicorn with uvicorn workers) and the WSGI option (gunicorn gthread).

``CLIENTS`` visitors each request pages back to back for ``SECONDS`` per page: the home page, the
catalogue, a product page, and the chat's health check; requests per second and latency (p50, p95)
per page and server, same workers, same database, same run. Nothing streams meanwhile (the slow-streams
benchmark measures pages while a thousand replies stream).

    python -m bench storefront
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import aiohttp

from bench import report
from bench.servers import ensure_database, gunicorn, server_log

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
SERVERS = {"asgi": "gunicorn + uvicorn workers (make demo)", "wsgi": "gunicorn gthread (the WSGI option)"}


async def _first_product_path(base: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(base + "/catalogue/") as response:
        page = await response.text()
    marker = 'href="/catalogue/'
    start = page.index(marker, page.index("product_pod")) + len('href="')
    return page[start : page.index('"', start)]


async def _closed_loop(base: str, path: str) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def visitor() -> None:
            nonlocal errors
            deadline = time.perf_counter() + SECONDS
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(base + path) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        # Warm up (templates compiled, connections open), then measure.
        for _ in range(3):
            async with session.get(base + path) as response:
                await response.read()
        started = time.perf_counter()
        await asyncio.gather(*(visitor() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else values[0]


def run() -> dict:
    ensure_database()
    rows = []
    for kind, label in SERVERS.items():
        with gunicorn(server=kind, log=server_log(f"storefront-{kind}")) as base:
            product = asyncio.run(_first_product_path(base))
            pages = {"home": "/", "catalogue": "/catalogue/", "product": product, "health": "/api/chatbot/health"}
            for page, path in pages.items():
                rate, latencies, errors = asyncio.run(_closed_loop(base, path))
                row = {
                    "server": label,
                    "page": page,
                    "req_per_s": round(rate, 1),
                    "p50_ms": round(1000 * _percentile(latencies, 0.5), 1),
                    "p95_ms": round(1000 * _percentile(latencies, 0.95), 1),
                    "errors": errors,
                }
                rows.append(row)
                print(row, flush=True)
    report.table(f"Storefront pages, {CLIENTS} clients x {SECONDS:.0f} s per page", rows)
    return {"rows": rows, "clients": CLIENTS, "seconds": SECONDS}


if __name__ == "__main__":
    report.main("storefront", run)
