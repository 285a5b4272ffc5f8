"""Cost of ``{% chatbot_widget %}`` on a storefront page: time and queries.

Two measurements in one run, in-process (no network noise):

* the tag rendered alone (with the request the page has) against the whole catalogue page, rendered through
  Django's test client: the tag's share of the page's server time;
* the catalogue page with the widget on and off (``CHATBOT["ENABLED"]``), interleaved, as a cross-check.

Goal: under 1 % of the page and zero queries.

    python -m bench tag_cost
"""

from __future__ import annotations

import os
import statistics
import time

from bench import report
from bench.servers import DATABASE_URL, ensure_database

#: The catalogue's first page: the storefront page most visitors see.
PAGE = "/catalogue/"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))


def _setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = DATABASE_URL
    import django

    django.setup()


def _timed(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run() -> dict:
    ensure_database()
    _setup()
    from django.conf import settings
    from django.db import connection
    from django.template import engines
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(PAGE)  # a session, a basket cookie and warm caches, as for a returning visitor
    tag = engines["django"].from_string("{% load chatbot %}{% chatbot_widget %}")
    request = client.get(PAGE).wsgi_request

    def page() -> None:
        response = client.get(PAGE)
        assert response.status_code == 200

    with CaptureQueriesContext(connection) as queries:
        html = tag.render({}, request)
    assert "chatbot" in html
    tag_queries = len(queries)

    tag_time = _timed(lambda: tag.render({}, request), ROUNDS * 10)
    page_time = _timed(page, ROUNDS)

    on, off = [], []
    base = dict(settings.CHATBOT)
    for index in range(ROUNDS * 2):
        enabled = index % 2 == 0
        with override_settings(CHATBOT={**base, "ENABLED": enabled}):
            started = time.perf_counter()
            page()
            (on if enabled else off).append(time.perf_counter() - started)
    with override_settings(CHATBOT={**base, "ENABLED": True}), CaptureQueriesContext(connection) as with_widget:
        page()
    with override_settings(CHATBOT={**base, "ENABLED": False}), CaptureQueriesContext(connection) as without:
        page()

    row = {
        "tag_render_us": round(tag_time * 1e6, 1),
        "page_ms": round(page_time * 1000, 2),
        "tag_share_pct": round(100 * tag_time / page_time, 3),
        "tag_queries": tag_queries,
        "page_on_ms": round(statistics.median(on) * 1000, 2),
        "page_off_ms": round(statistics.median(off) * 1000, 2),
        "on_vs_off_pct": round(100 * (statistics.median(on) / statistics.median(off) - 1), 2),
        "page_queries_on": len(with_widget),
        "page_queries_off": len(without),
    }
    report.table("Template tag cost on the catalogue page", [row])
    return {"rounds": ROUNDS, **row, "goal_met": row["tag_share_pct"] < 1 and tag_queries == 0}


if __name__ == "__main__":
    report.main("tag_cost", run)
