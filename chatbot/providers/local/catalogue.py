"""The local assistant's view of the catalogue: every product as concepts, held in memory per process.

The index is built from ``ShopAdapter.catalogue()`` and built again when ``catalogue_version()``
changes (prices and stock included), so answers are current and a search costs no database query.
A shop that cannot list its catalogue is searched through ``search_products`` and the hits are
ranked the same way.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from chatbot.language import has_chinese
from chatbot.providers.local.words import Lexicon, Term, cjk_words_of, latin_words
from chatbot.shop.base import ProductInfo, ShopAdapter

TITLE, CATEGORY, BODY = 3.0, 2.0, 1.0
#: Products scoring below this share of the best match are left out: one good product beats a list.
RELEVANCE_CUT = 0.5


@dataclass
class Entry:
    product: ProductInfo
    title: frozenset[str]
    category: frozenset[str]
    body: frozenset[str]
    title_text: str
    body_text: str
    facts: dict[str, Any] = field(default_factory=dict)

    def weight(self, term: Term) -> float:
        """How well this product matches ``term``; the very word in the title beats a synonym."""
        literal = 0.5 if term.surface and term.surface in self.title_text else 0.0
        return self.field_weight(term) + literal if self.field_weight(term) else 0.0

    def field_weight(self, term: Term) -> float:
        if term.kind == "cjk":
            return TITLE if term.concept in self.title_text else BODY if term.concept in self.body_text else 0.0
        if term.concept in self.title:
            return TITLE
        if term.concept in self.category:
            return CATEGORY
        return BODY if term.concept in self.body else 0.0


@dataclass
class Match:
    """What a search found: products in order, and what could not be matched."""

    entries: list[Entry]
    #: The words searched for, after typo correction and broadening ("rain jacket": jacket, waterproof).
    terms: list[Term] = field(default_factory=list)
    #: Kinds of product the catalogue has nothing of ("wine").
    unknown_things: list[Term] = field(default_factory=list)
    #: Words no product has together with the rest ("red" in "red boots").
    unmet: list[Term] = field(default_factory=list)


class Catalogue:
    def __init__(self, products: Iterable[ProductInfo], lexicon: Lexicon, previous: Catalogue | None = None):
        self.lexicon = lexicon
        self.entries: dict[str, Entry] = {}
        self.postings: dict[str, set[str]] = defaultdict(set)
        self.title_postings: dict[str, set[str]] = defaultdict(set)
        self.category_postings: dict[str, set[str]] = defaultdict(set)
        #: Chinese pieces of titles and categories, and the products whose title or category holds each.
        self.cjk_postings: dict[str, set[str]] = defaultdict(set)
        #: Products whose description has Chinese in it (searched piece by piece).
        self.cjk_bodies: list[str] = []
        # Stock and prices change far more often than words: texts already read keep their concepts.
        seen: dict[str, frozenset[str]] = {}
        for old in previous.entries.values() if previous is not None and previous.lexicon is lexicon else ():
            seen[old.product.title], seen[old.product.category] = old.title, old.category
            seen[old.product.description] = old.body
        self.currency = ""
        for product in products:
            concepts = [
                seen.get(text) or seen.setdefault(text, lexicon.concepts(text))
                for text in (product.title, product.category, product.description)
            ]
            # "Coffee" alone finds the French Press Coffee Maker, as a mention: a laptop sleeve is no laptop.
            concepts[2] = concepts[2] | lexicon.phrase_words(product.title)
            entry = Entry(
                product=product,
                title=concepts[0],
                category=concepts[1],
                body=concepts[2],
                title_text=product.title.lower(),
                body_text=product.description.lower() if has_chinese(product.description) else "",
            )
            self.entries[product.id] = entry
            self.currency = self.currency or product.currency
            for concept in entry.title | entry.category | entry.body:
                self.postings[concept].add(product.id)
            for concept in entry.title:
                self.title_postings[concept].add(product.id)
            for concept in entry.category:
                self.category_postings[concept].add(product.id)
            for piece in cjk_words_of(f"{product.title} {product.category}"):
                self.cjk_postings[piece].add(product.id)
            if entry.body_text:
                self.cjk_bodies.append(product.id)
        self.cjk_words = frozenset(self.cjk_postings)
        self.vocabulary = sorted(c for c in self.postings if c.isalpha() and len(c) > 3)
        #: Every word of every title, to tell a product noun ("laptop") from any other word.
        self.title_words = frozenset(w for e in self.entries.values() for w in latin_words(e.title_text))

    def terms(self, text: str) -> list[Term]:
        return self.lexicon.terms(text, self.cjk_words)

    def known(self, term: Term) -> bool:
        if term.kind == "cjk":
            return bool(self._ids_for(term))
        return term.concept in self.postings

    def correct(self, term: Term) -> Term | None:
        """A word the catalogue does not have, replaced by its closest catalogue word (typos)."""
        if term.kind != "word" or len(term.concept) < 5 or not self.vocabulary:
            return None
        # One slip in a long word ("candel"), none that turns one real word into another ("store", "stove").
        cutoff = 80 if len(term.concept) >= 6 else 86
        best = process.extractOne(term.concept, self.vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
        # Slips keep the first letter; "weather" is not a misspelt "leather".
        if best is None or best[0][0] != term.concept[0]:
            return None
        concept = best[0]
        return Term(concept, self.lexicon.kind(concept), term.surface)

    def broader(self, term: Term) -> list[Term]:
        """A kind of product the shop has no word for, as the broader concepts it does have: a "rain
        jacket" is a jacket that is waterproof."""
        parents = [p for p in self.lexicon.parents.get(term.concept, ()) if p in self.postings]
        if term.kind != "thing" or not parents:
            return [term]
        return [Term(p, self.lexicon.kind(p), term.surface) for p in parents]

    def _ids_for(self, term: Term) -> set[str]:
        if term.kind == "cjk":
            in_body = {pid for pid in self.cjk_bodies if term.concept in self.entries[pid].body_text}
            return self.cjk_postings.get(term.concept, set()) | in_body
        if term.kind == "thing":
            # "boots" means products that are boots, not trousers whose description mentions boots.
            for postings in (self.title_postings, self.category_postings):
                if postings.get(term.concept):
                    return set(postings[term.concept])
        return set(self.postings.get(term.concept, ()))

    def search(self, terms: list[Term]) -> Match:
        """Products matching every term, best first; relaxed to the kinds of product asked for when
        nothing matches every word."""
        terms = [self.correct(t) or t if not self.known(t) else t for t in terms]
        terms = [b for t in terms for b in ([t] if self.known(t) else self.broader(t))]
        unknown_things = [t for t in terms if t.kind == "thing" and not self.known(t)]
        if unknown_things or not terms:
            return Match([], terms, unknown_things=unknown_things)
        sets = [self._ids_for(t) for t in terms]
        ids = set.intersection(*sets) if sets else set()
        unmet: list[Term] = []
        if not ids:
            things = [(t, s) for t, s in zip(terms, sets, strict=True) if t.kind == "thing"]
            if things:
                # "Teapots and cups": several kinds of product are asked for, none is both.
                ids = set.intersection(*(s for _, s in things)) or set.union(*(s for _, s in things))
                # Keep every other word some of them have ("winter hiking boots": hiking), drop the rest.
                for term, found in zip(terms, sets, strict=True):
                    if term.kind == "thing":
                        continue
                    if ids & found:
                        ids &= found
                    else:
                        unmet.append(term)
            else:
                # No kind of product named: the products matching the most words.
                counts: dict[str, int] = defaultdict(int)
                for s in sets:
                    for pid in s:
                        counts[pid] += 1
                best = max(counts.values(), default=0)
                ids = {pid for pid, n in counts.items() if n == best and best > 0}
                unmet = [t for t, s in zip(terms, sets, strict=True) if not (s & ids)]
        ranked = self.rank([self.entries[pid] for pid in ids], terms)
        return Match(ranked, terms, unmet=unmet)

    def rank(self, entries: list[Entry], terms: list[Term]) -> list[Entry]:
        scored = [(sum(e.weight(t) for t in terms), e) for e in entries]
        if not scored:
            return []
        top = max(score for score, _ in scored)
        kept = [(s, e) for s, e in scored if s >= top * RELEVANCE_CUT]
        kept.sort(key=lambda se: (-se[0], not se[1].product.in_stock, _pk(se[1].product.id)))
        return [e for _, e in kept]

    def get(self, product_id: str) -> Entry | None:
        return self.entries.get(product_id)

    def all(self) -> list[Entry]:
        return list(self.entries.values())


def _pk(product_id: str) -> tuple[int, str]:
    return (int(product_id), "") if product_id.isdigit() else (0, product_id)


_lock = threading.Lock()
_cached: dict[str, tuple[Any, Catalogue]] = {}


def catalogue_for(shop: ShopAdapter, lexicon: Lexicon, query: str = "") -> Catalogue:
    """The shop's catalogue index, built again when its version changes (one query to check)."""
    key = f"{type(shop).__module__}.{type(shop).__qualname__}:{id(lexicon)}"
    version = shop.catalogue_version()
    cached = _cached.get(key)
    if cached is not None and version is not None and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cached.get(key)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        products = shop.catalogue()
        if products is None:
            # No catalogue listing: index what the shop's own search finds for this question.
            return Catalogue(shop.search_products(query, limit=50) if query.strip() else [], lexicon)
        index = Catalogue(products, lexicon, previous=cached[1] if cached is not None else None)
        if version is not None:
            _cached[key] = (version, index)
        return index
