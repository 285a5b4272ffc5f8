"""The local assistant on a 10,000-product catalogue: how long a visitor waits for the first words and
for the whole answer, and how many answers of the question set are right, through
``POST /api/chatbot/messages`` on the production server.

The questions are the set ``tests/test_local_assistant.py`` asks on the demo shop
(``tests/local_questions.py``), each judged by the same rules, here on the demo catalogue grown to
``BENCH_PRODUCTS`` products with synthetic ones. Questions that need a signed-in customer are left out
(the load client does not sign in); questions asked from a product page send that page's path. The
assistant's typing delay (``LOCAL_STREAM_DELAY``) is 0, so the figures are the time spent finding the
answer, not the cosmetic pacing. Each question is asked ``ROUNDS`` times by fresh visitors.

    python -m bench local_answers
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from bench import report
from bench.load import Visitor, median, percentile
from bench.servers import CATALOG_SIZE, ensure_database, gunicorn, server_log
from tests.local_questions import CASES, Case, verdict

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _kind(case: Case) -> str:
    if case.page:
        return "this product (page)"
    if case.before:
        return "follow-up"
    return "Chinese" if case.chinese else "English"


async def _ask(base: str, case: Case, pages: dict[str, str]):
    async with Visitor(base) as visitor:
        for earlier in case.before:
            await visitor.ask(earlier)
        return await visitor.ask(case.ask, pages.get(case.page, ""))


def _product_pages() -> dict[str, str]:
    """The storefront path of each demo product a question is asked from, by its slug."""
    import django

    from bench.servers import DATABASE_URL

    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")
    django.setup()
    from oscar.core.loading import get_model

    Product = get_model("catalogue", "Product")
    slugs = {case.page for case in CASES if case.page}
    return {p.slug: p.get_absolute_url() for p in Product.objects.filter(slug__in=slugs)}


def run() -> dict:
    ensure_database()
    pages = _product_pages()
    cases = [case for case in CASES if not case.user]
    first, total, kinds = [], [], Counter()
    wrong: dict[str, list[str]] = {}
    with gunicorn(log=server_log("local_answers"), PROVIDER="local", LOCAL_STREAM_DELAY=0) as base:
        for case in cases:  # warm up: the first question builds the catalogue index
            asyncio.run(_ask(base, case, pages))
        by_kind: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            for case in cases:
                result = asyncio.run(_ask(base, case, pages))
                if result.ttft is not None:
                    first.append(result.ttft)
                    by_kind.setdefault(_kind(case), []).append(result.ttft)
                if result.outcome == "done":
                    total.append(result.total)
                problems = verdict(case, result.text, result.cards)
                if problems:
                    wrong[case.ask] = problems
                kinds[_kind(case)] += 1
    rows = [
        {
            "questions": kind,
            "asked": kinds[kind],
            "first_words_p50_ms": round(median(times) * 1000, 1),
            "first_words_p95_ms": round(percentile(times, 95) * 1000, 1),
        }
        for kind, times in sorted(by_kind.items())
    ]
    summary = {
        "products": CATALOG_SIZE,
        "questions": len(cases),
        "answered_right": f"{len(cases) - len(wrong)}/{len(cases)}",
        "first_words_p50_ms": round(median(first) * 1000, 1),
        "first_words_p95_ms": round(percentile(first, 95) * 1000, 1),
        "answer_p95_ms": round(percentile(total, 95) * 1000, 1),
        "answers": len(total),
    }
    report.table(f"Local assistant, {CATALOG_SIZE} products, {ROUNDS} rounds", rows)
    report.table("All questions", [summary])
    for question, problems in wrong.items():
        print(f"  wrong on {CATALOG_SIZE} products: {question!r}: {'; '.join(problems)}")
    return {"rows": rows, "wrong": wrong, **summary}


if __name__ == "__main__":
    report.main("local_answers", run)
