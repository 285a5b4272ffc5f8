"""Turning a visitor's words into a catalogue query that forgives typos and plural forms.

On PostgreSQL: English full-text search (stems plurals) ranked together with trigram word similarity
(forgives typos). Elsewhere: substring matches on crude stems, then close-match spelling correction
against the catalogue's own words. Chinese has no spaces, so CJK runs are matched as substrings.
"""

from __future__ import annotations

import difflib
import re
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db import connection
from django.db.models import BooleanField, CharField, F, Func, Q, QuerySet, Value

from chatbot.language import HAN_RUN

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LATIN = re.compile(r"[a-z0-9]+")


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """(latin words, CJK runs) of the query, lower-cased."""
    text = query.lower()
    cjk = HAN_RUN.findall(text)
    latin = [w for w in _LATIN.findall(HAN_RUN.sub(" ", text)) if len(w) > 1 or w.isdigit()]
    return latin, cjk


def stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _cjk_filter(runs: list[str], fields: tuple[str, ...]) -> Q | None:
    pieces: list[str] = []
    for run in runs:
        pieces.append(run)
        # "跑步鞋" should still find "跑鞋": also try the run's two-character pieces.
        pieces.extend(run[i : i + 2] for i in range(len(run) - 1))
    if not pieces:
        return None
    return reduce(or_, (Q(**{f"{field}__icontains": piece}) for piece in pieces for field in fields))


def search(queryset: QuerySet, query: str, *, title: str, body: str, limit: int) -> list:
    latin, cjk = query_terms(query)
    if not latin and not cjk:
        return []
    if connection.vendor == "postgresql":
        return _search_postgres(queryset, latin, cjk, title=title, body=body, limit=limit)
    return _search_simple(queryset, latin, cjk, title=title, body=body, limit=limit)


class WordSimilar(Func):
    """``word <% column``: the column has a word close to ``word`` (pg_trgm), answered by a trigram index."""

    arg_joiner = " <%% "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def match_vector(title: str, body: str):
    """The text search vector the GIN index of :mod:`chatbot.shop.indexes` is built on, term for term."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector(title, body, config="english")


def _search_postgres(queryset, latin, cjk, *, title, body, limit) -> list:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity

    words = latin[:6]
    queryset = queryset.annotate(_match=match_vector(title, body))
    per_word = []
    for word in words:
        matches = Q(_match=SearchQuery(word, config="english"))
        if len(word) >= 4:
            # Typos: "hikng" is still close to the word "hiking" in a title.
            matches |= Q(WordSimilar(Value(word, output_field=CharField()), F(title)))
        per_word.append(matches)
    cjk_q = _cjk_filter(cjk, (title, body))
    if cjk_q is not None:
        per_word.append(cjk_q)
    if not per_word:
        return []
    if words:
        # Ranking is computed only for the rows the indexed conditions let through.
        weighted = SearchVector(title, weight="A", config="english") + SearchVector(body, weight="B", config="english")
        query = reduce(or_, (SearchQuery(word, config="english") for word in words))
        terms: list[Any] = [
            SearchRank(weighted, query),
            *(TrigramWordSimilarity(word, title) for word in words if len(word) >= 4),
        ]
        score = reduce(lambda a, b: a + b, terms)
        queryset = queryset.annotate(_score=score).order_by("-_score", "pk")
    # Products that match every word first; only when there are none, those that match some.
    found = list(queryset.filter(reduce(and_, per_word))[:limit])
    if not found and len(per_word) > 1:
        found = list(queryset.filter(reduce(or_, per_word))[:limit])
    return found


def _search_simple(queryset, latin, cjk, *, title, body, limit) -> list:
    stems = [stem(w) for w in latin]
    conditions = [Q(**{f"{title}__icontains": s}) | Q(**{f"{body}__icontains": s}) for s in stems]
    cjk_q = _cjk_filter(cjk, (title, body))
    if cjk_q is not None:
        conditions.append(cjk_q)
    found = list(queryset.filter(reduce(and_, conditions))[: limit * 4]) if conditions else []
    if not found and len(conditions) > 1:
        found = list(queryset.filter(reduce(or_, conditions))[: limit * 4])
    if not found and stems:
        # Nothing matched as typed: correct each word against the words of the catalogue's titles.
        titles = list(queryset.values_list(title, flat=True)[:5000])
        vocabulary = {stem(w) for t in titles for w in _LATIN.findall(t.lower()) if len(w) > 2}
        corrected = [m for s in stems for m in difflib.get_close_matches(s, vocabulary, n=1, cutoff=0.75)]
        if corrected:
            found = list(queryset.filter(reduce(or_, (Q(**{f"{title}__icontains": c}) for c in corrected)))[:limit])
            stems = corrected

    def score(obj) -> int:
        text_title = getattr(obj, title).lower()
        text_body = getattr(obj, body).lower()
        return sum(3 * (s in text_title) + (s in text_body) for s in stems) + sum(
            2 * (run in text_title) for run in cjk
        )

    return sorted(found, key=lambda obj: (-score(obj), obj.pk))[:limit]
