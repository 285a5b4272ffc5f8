"""Indexes that make catalogue search fast on PostgreSQL, created on the shop's own product table.

The chat app does not own the shop's tables, so these are not migrations of its own: after every
``migrate`` the Oscar adapter makes sure a full-text GIN index (matching
:func:`chatbot.shop.search.match_vector` term for term) and a trigram index on titles exist.
``CREATE INDEX IF NOT EXISTS`` keeps it idempotent; without pg_trgm only the full-text index is made.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

FULL_TEXT = (
    "CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin "
    "(to_tsvector('english'::regconfig, COALESCE({title}, '') || ' ' || COALESCE({body}, '')))"
)
TRIGRAM = "CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({title} gin_trgm_ops)"


def ensure_product_search_indexes(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the search indexes on Oscar's product table (PostgreSQL only)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    from oscar.core.loading import get_model

    table = get_model("catalogue", "Product")._meta.db_table
    quote = connection.ops.quote_name
    names = {"table": quote(table), "title": quote("title"), "body": quote("description")}
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return
        cursor.execute(FULL_TEXT.format(name=quote(f"chatbot_{table}_fts"[:63]), **names))
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            cursor.execute(TRIGRAM.format(name=quote(f"chatbot_{table}_title_trgm"[:63]), **names))
        else:
            logger.warning("pg_trgm is not installed: catalogue search forgives typos more slowly")
        # Statistics for the planner, so it knows when the catalogue is big enough to use the indexes.
        cursor.execute(f"ANALYZE {names['table']}")
