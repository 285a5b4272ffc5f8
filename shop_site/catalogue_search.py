"""A Haystack engine that answers Oscar's catalogue and search pages straight from the database.

Oscar browses its catalogue through Haystack. Haystack's bundled simple engine cannot serve those pages:
it flattens every filter (is_public, structure, category...) into one search string and then keeps only
the last word's matches, so "All products" shows nothing. A real engine (Solr, Elasticsearch, Whoosh)
needs an index that must be built and kept in sync on every web server. This engine translates Oscar's
filters into one ORM query instead: always current, the same on SQLite and PostgreSQL, and nothing to
rebuild after `load_demo_shop` or a dashboard edit. It does not compute facets or spelling suggestions;
Oscar hides both when the engine returns none.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db.models import Min, Q, QuerySet
from haystack import connections
from haystack.backends import SearchNode
from haystack.backends.simple_backend import SimpleEngine, SimpleSearchBackend, SimpleSearchQuery
from haystack.models import SearchResult
from haystack.utils.loading import UnifiedIndex

logger = logging.getLogger(__name__)

# Index field -> ORM path, for the fields of Oscar's ProductIndex that its views filter or sort on.
FIELD_PATHS = {
    "is_public": "is_public",
    "structure": "structure",
    "category": "categories",
    "product_class": "product_class__name",
    "upc": "upc",
    "title": "title",
    "title_exact": "title",
    "title_s": "title",
    "price": "min_price",
    "num_in_stock": "stockrecords__num_in_stock",
    "rating": "rating",
    "date_created": "date_created",
    "date_updated": "date_updated",
}
TEXT_FIELDS = {"content", "text"}
ORM_LOOKUPS = {
    "exact": "exact",
    "content": "exact",
    "in": "in",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "range": "range",
    "contains": "icontains",
    "startswith": "istartswith",
    "endswith": "iendswith",
    "fuzzy": "icontains",
}
_PHRASE = re.compile(r'"(.*?)"')


def _plain(value: Any) -> Any:
    # Haystack wraps filter values in input types (AutoQuery, Exact, Clean...) holding the raw text.
    return getattr(value, "query_string", value)


def _text_q(text: str) -> Q:
    """Words and "quoted phrases" must all appear in the title, description or UPC; -word excludes."""
    phrases = _PHRASE.findall(text)
    words = [*phrases, *_PHRASE.sub(" ", text).split()]
    condition = Q()
    for word in words:
        negate = word.startswith("-") and len(word) > 1
        word = word.removeprefix("-") if negate else word
        match = Q(title__icontains=word) | Q(description__icontains=word) | Q(upc__iexact=word)
        condition &= ~match if negate else match
    return condition


def _filter_q(expression: str, value: Any, node: SearchNode) -> Q:
    field, filter_type = node.split_expression(expression)
    value = _plain(value)
    if field in TEXT_FIELDS:
        return _text_q(str(value))
    if field not in FIELD_PATHS or filter_type not in ORM_LOOKUPS:
        logger.warning("Catalogue search ignores the unsupported filter %s=%r", expression, value)
        return Q()
    if field == "is_public":
        value = value in (True, "true", "True", "1", 1)
    return Q(**{f"{FIELD_PATHS[field]}__{ORM_LOOKUPS[filter_type]}": value})


def query_to_q(node: SearchNode) -> Q:
    """Translate Haystack's filter tree (AND/OR nodes, negation, field lookups) into a Django Q."""
    condition = Q()
    for child in node.children:
        part = query_to_q(child) if isinstance(child, SearchNode) else _filter_q(child[0], child[1], node)
        condition = condition | part if node.connector == SearchNode.OR else condition & part
    return ~condition if node.negated and condition else condition


def _order_by(sort_by: list[str] | None) -> list[str]:
    fields = []
    for term in sort_by or ():
        descending = term.startswith("-")
        path = FIELD_PATHS.get(term.lstrip("-"))
        if path:
            fields.append(f"-{path}" if descending else path)
    # Without a sort order, merchandised products (higher priority) come first, then the oldest: the
    # hand-written demo catalog before any synthetic benchmark products.
    return [*fields, "-priority", "pk"]


class DatabaseSearchQuery(SimpleSearchQuery):
    def build_query(self) -> Q:
        return query_to_q(self.query_filter)


class DatabaseSearchBackend(SimpleSearchBackend):
    def search(self, query_string: Any, **kwargs: Any) -> dict[str, Any]:
        condition = query_string if isinstance(query_string, Q) else _text_q(str(query_string or ""))
        unified_index: UnifiedIndex = connections[self.connection_alias].get_unified_index()
        models = kwargs.get("models") or unified_index.get_indexed_models()
        result_class = kwargs.get("result_class") or SearchResult
        start, end = kwargs.get("start_offset") or 0, kwargs.get("end_offset")

        results, hits = [], 0
        for model in models:
            queryset = self._queryset(unified_index.get_index(model).read_queryset(), condition, kwargs)
            hits += queryset.count()
            for obj in queryset[start:end]:
                result = result_class(obj._meta.app_label, obj._meta.model_name, obj.pk, 0)
                # The object is already loaded: templates reading result.object cost no extra query.
                result._model, result._object = model, obj
                results.append(result)
        return {"results": results, "hits": hits}

    @staticmethod
    def _queryset(queryset: QuerySet, condition: Q, kwargs: dict[str, Any]) -> QuerySet:
        # The aggregate groups rows by product, so joins to categories or stock records made by the
        # filter cannot list a product twice.
        queryset = queryset.annotate(min_price=Min("stockrecords__price")).filter(condition)
        return queryset.order_by(*_order_by(kwargs.get("sort_by")))


class DatabaseEngine(SimpleEngine):
    """Haystack engine for Oscar backed by the ORM; set as HAYSTACK_CONNECTIONS' ENGINE."""

    backend = DatabaseSearchBackend
    query = DatabaseSearchQuery
