"""Catalogue search: typos, plurals, Chinese, and products matching every word ranked first.

The PostgreSQL path runs through the chat API elsewhere; the portable fallback used on other
databases is exercised here directly on the same catalogue.
"""

from __future__ import annotations

import pytest
from oscar.core.loading import get_model

from chatbot.shop import search
from chatbot.shop.oscar import OscarShop

pytestmark = [pytest.mark.django_db, pytest.mark.demo]


def titles(products) -> list[str]:
    return [p.title for p in products]


@pytest.mark.parametrize("engine", ["postgres", "simple"])
@pytest.mark.parametrize(
    "query, expected",
    [
        ("hiking boots", "Leather Hiking Boots"),
        ("hikng boots", "Leather Hiking Boots"),
        ("teapots", "Ceramic Teapot"),
        ("water bottles", "Stainless Steel Water Bottle"),
        ("龙井", "龙井绿茶 Longjing Green Tea"),
        ("running shoe", "Trail Running Shoes"),
    ],
)
def test_finds_the_product(catalogue, engine, query, expected):
    Product = get_model("catalogue", "Product")
    latin, cjk = search.query_terms(query)
    run = search._search_postgres if engine == "postgres" else search._search_simple
    found = titles(run(Product.objects.all(), latin, cjk, title="title", body="description", limit=5))
    assert found and found[0] == expected


def test_products_matching_every_word_come_alone(catalogue):
    found = titles(OscarShop().search_products("waterproof hiking boots"))
    assert found == ["Leather Hiking Boots"]


def test_some_words_match_when_none_matches_all(catalogue):
    found = titles(OscarShop().search_products("waterproof submarine"))
    assert set(found) == {"Leather Hiking Boots", "Waterproof Jacket"}


def test_nothing_for_nonsense(catalogue):
    assert OscarShop().search_products("xqzv") == []
    assert OscarShop().search_products("") == []


def test_migrate_leaves_search_indexes_on_the_product_table():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'catalogue_product'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"chatbot_catalogue_product_fts", "chatbot_catalogue_product_title_trgm"} <= names
