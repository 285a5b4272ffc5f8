"""Questions about products, answered against the catalogue index: what "this" and "it" mean, the
constraints a question sets (price, size, people, "cheaper"), and which kind of answer fits (one
product's facts, a comparison, the best by some measure, a short list, or "we don't sell that")."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _

from chatbot.providers.base import ChatRequest
from chatbot.providers.local import facts, products
from chatbot.providers.local.catalogue import BODY, Catalogue, Entry
from chatbot.providers.local.products import Answer
from chatbot.providers.local.question import COMPARE_SPLIT, Question, parse
from chatbot.providers.local.words import Term

_RESTOCK = re.compile(r"\bback in\b|\brestock|\bwhen\b|\bagain\b|什么时候|到货|补货", re.I)
_DIFFERENCE = re.compile(r"\bdifference|区别|不同|差别|对比|比较", re.I)


class ProductQuestion:
    """One question about products, answered against the catalogue index."""

    def __init__(self, request: ChatRequest, text: str, catalogue: Catalogue, lang: str):
        self.request = request
        self.text = text
        self.shop = request.shop
        self.catalogue = catalogue
        self.lang = lang
        self.question: Question = parse(text, lang, catalogue.terms(text), catalogue.lexicon.ignore)
        self.previous = request.state.get("subject") or None

    # -- what "this" and "it" mean ---------------------------------------------------------------------

    def page_entry(self) -> Entry | None:
        product = self.request.page_product
        if product is None:
            return None
        return self.catalogue.get(product.id) or Catalogue([product], self.catalogue.lexicon).get(product.id)

    def previous_entries(self) -> list[Entry]:
        ids = (self.previous or {}).get("products") or []
        return [e for e in (self.catalogue.get(str(i)) for i in ids) if e is not None]

    def focus(self) -> Entry | None:
        """The one product the question is about when it names none: the page's, or the last one."""
        q = self.question
        things = [t for t in q.terms if t.kind == "thing"]
        page = self.page_entry()
        if (
            page is not None
            and (q.refers or not things)
            and all(t.concept in page.title | page.category for t in things)
        ):
            return page
        previous = self.previous_entries()
        if len(previous) == 1 and not things:
            return previous[0]
        return None

    # -- answering -------------------------------------------------------------------------------------

    def answer(self) -> Answer:
        q = self.question
        if q.compare:
            pair = self.pair()
            if pair is None and q.terms and _DIFFERENCE.search(self.text):
                # "What's the difference between the teapots?": the two best matches.
                found = self.catalogue.search(q.terms).entries
                pair = (found[0], found[1]) if len(found) >= 2 else None
            if pair is not None:
                return products.compare(self.shop, self.catalogue, *pair)
        focus = self.focus()
        about_it = q.refers or not q.existence or q.asks_about_product
        if focus is not None and about_it and (not q.has_constraints or q.asks_about_product):
            return self.about(focus, _properties(q.terms, focus, keep_qualities=q.yes_no))
        terms = q.terms
        if not terms and self.previous and (q.has_constraints or q.more or q.asks_stock or q.size):
            # "Any cheaper ones?": other products of the same kind as the last answer's.
            earlier = [Term(*t) for t in self.previous.get("terms", [])]
            terms = [t for t in earlier if t.kind in ("thing", "cjk")] or earlier
        if not terms and focus is not None:
            terms = [t for t in self.catalogue.terms(focus.product.title) if t.kind == "thing"][-1:]
        if not terms:
            if q.gift or q.has_budget or q.order:
                return self.browse()
            return Answer(
                _(
                    "What are you looking for? You can ask about a product, its price or stock, shipping, "
                    "returns or an order."
                ),
                suggestions=starters(),
            )
        if q.gift or q.has_budget:
            # "A present for my dad under £50": words the catalogue has never heard of don't narrow it.
            terms = [t for t in terms if t.kind != "word" or self.catalogue.known(t) or self.catalogue.correct(t)]
            if not terms:
                return self.browse()
        match = self.catalogue.search(terms)
        if match.unknown_things:
            return Answer(
                _("Sorry, we don't sell %(what)s.") % {"what": products.names(match.unknown_things)}
                + " "
                + _("Ask me about anything else, or browse the catalogue.")
            )
        if not match.entries:
            return _nothing_found(products.names(terms))
        entries, terms = match.entries, match.terms
        single = self.single(entries, terms)
        if single is not None:
            return self.about(single, _properties(terms, single))
        return self.constrained(entries, terms, match.unmet)

    def about(self, entry: Entry, properties: list[Term]) -> Answer:
        """A question about one product: its price or stock, or a fact of its description."""
        q = self.question
        if (q.asks_stock or q.asks_price) and not q.asks_about_product and _only_about_stock(properties, q):
            return self.stock_and_price(entry)
        return products.property_answer(self.shop, self.catalogue, entry, q, properties)

    def single(self, entries: list[Entry], terms: list[Term]) -> Entry | None:
        """The product a question names outright ("is the hiking boot waterproof?"), if it names one."""
        q = self.question
        if (
            q.existence
            or q.has_constraints
            or q.people
            or not (q.yes_no or q.asks_about_product or q.asks_price or q.asks_stock or q.asks_fact)
        ):
            return None
        top = entries[0]
        things = [t for t in terms if t.kind in ("thing", "cjk")]
        named = [t for t in things if t.concept in top.title or t.concept in top.title_text]
        # "How many cups does the French press make?": one kind names the product, the others are
        # what is asked about it (its description speaks of cups).
        if not named or not all(top.weight(t) for t in things):
            return None
        best = sum(top.weight(t) for t in terms)
        rivals = [e for e in entries[1:] if sum(e.weight(t) for t in terms) >= best]
        return top if not rivals or q.yes_no else None

    def stock_and_price(self, entry: Entry) -> Answer:
        product = entry.product
        offer = products.offer(self.shop, product)
        if self.question.asks_stock and not product.in_stock:
            text = _("Sorry, the %(product)s is out of stock right now.")
        elif self.question.asks_stock:
            text = _("Yes, the %(product)s is available: %(offer)s.")
        else:
            text = _("The %(product)s costs %(offer)s.")
        if not product.in_stock and self.question.asks_stock and self.shop.price_text(product):
            text += " " + _("It costs %(price)s.") % {"price": self.shop.price_text(product)}
        if not product.in_stock and _RESTOCK.search(self.text):
            text += " " + _(
                "I don't have a date for new stock; a member of our team may know: just ask to talk to a human."
            )
        answer = Answer(
            text % {"product": products.link(product), "offer": offer},
            [product],
            [_("Any cheaper ones?")],
            products.subject_of([entry], []),
        )
        return answer

    def pair(self) -> tuple[Entry, Entry] | None:
        text = re.sub(r"^.*?\b(between|compare|comparing)\b", "", self.text, flags=re.I)
        sides = [s for s in COMPARE_SPLIT.split(text) if s and s.strip()]
        found: list[Entry] = []
        for side in sides[-2:] if len(sides) >= 2 else []:
            terms = parse(side, self.lang, self.catalogue.terms(side), self.catalogue.lexicon.ignore).terms
            entry = None
            if terms:
                match = self.catalogue.search(terms)
                fresh = [e for e in match.entries if all(e is not other for other in found)]
                entry = fresh[0] if fresh and not match.unmet else None
            elif re.search(r"\b(this|it|this one)\b|这", side, re.I):
                earlier = self.previous_entries()
                entry = self.page_entry() or (earlier[0] if earlier else None)
            if entry is not None and all(entry is not other for other in found):
                found.append(entry)
        return (found[0], found[1]) if len(found) == 2 else None

    def browse(self) -> Answer:
        """No kind of product named: gift ideas or anything within a budget, one per category first."""
        return self.constrained(self.catalogue.all(), [], [], spread=True)

    def constrained(
        self, entries: list[Entry], terms: list[Term], unmet: list[Term], *, spread: bool = False
    ) -> Answer:
        q = self.question
        named = [t for t in terms if t not in unmet]
        what = products.names([t for t in named if t.kind in ("thing", "cjk", "word")]) or products.names(named)
        notes: list[str] = []
        unmet = [t for t in unmet if t.kind in ("quality", "colour")]
        if unmet:
            notes.append(
                _("None of our %(what)s is %(quality)s.")
                % {
                    "what": products.names([t for t in terms if t.kind == "thing"]) or _("products"),
                    "quality": products.names(unmet),
                }
            )
        if q.people:
            fitting, stated = products.fits_people(entries, q.people)
            if not fitting:
                if stated:
                    best = max(stated, key=lambda e: e.facts["people"])
                    text = _(
                        "Sorry, we don't have a %(what)s for %(count)d people. The largest we have is the "
                        "%(product)s, for %(most)d (%(offer)s)."
                    ) % {
                        "what": products.names([t for t in terms if t.kind == "thing"]) or what,
                        "count": q.people,
                        "product": products.link(best.product),
                        "most": best.facts["people"],
                        "offer": products.offer(self.shop, best.product),
                    }
                    return Answer(text, [best.product], [], products.subject_of([best], terms))
            else:
                entries = fitting
        if q.size:
            sized = [e for e in entries if _comes_in(e, q.size)]
            if not sized:
                notes.append(_("None of them is listed in size %(size)s.") % {"size": q.size})
            else:
                entries = sized
        low, high = q.min_price, q.max_price
        previous = self.named_subject(entries, terms) or self.previous or self.page_subject()
        if q.relative and previous:
            shown = set(previous.get("products") or [])
            entries = [e for e in entries if e.product.id not in shown] or self.related(terms, shown)
            if q.relative == "cheaper" and previous.get("low"):
                high = min(filter(None, [high, _decimal(previous["low"])]))
            elif q.relative == "dearer" and previous.get("high"):
                low = max(filter(None, [low, _decimal(previous["high"])]))
        elif q.more and previous and not q.terms:
            # "Any similar ones?": others than those already shown.
            shown = set(previous.get("products") or [])
            entries = [e for e in entries if e.product.id not in shown] or entries
        if low is not None or high is not None:
            priced = products.within_price(entries, low, high)
            if not priced:
                return self.nothing_in_range(entries, terms, what, low, high)
            entries = priced
        if q.order and not q.relative:
            return products.superlative(self.shop, entries, q.order, terms)
        if q.relative:
            entries, _stated = products.order_by(entries, "price_asc" if q.relative == "cheaper" else "price_desc")
        elif spread:
            entries = _one_per_category(sorted(entries, key=_in_stock_dearest_first))
        intro = self.intro(len(entries), what, low, high)
        only_words = all(t.kind in ("word", "thing") for t in terms)
        if terms and only_words and not spread and not q.relative and all(_mentioned_only(e, terms) for e in entries):
            if not any(t.concept in self.catalogue.title_words for t in terms):
                # "Do you price match?": a word only some description happens to use is no product.
                return _nothing_found(what)
            # "Laptops": only a laptop sleeve's description mentions them.
            mentioned = products.names([t for t in terms if any(e.weight(t) for e in entries)]) or what
            intro = _("We don't sell %(what)s as such, but these are related:") % {"what": mentioned}
        answer = products.listing(self.shop, entries, " ".join([*notes, intro]), terms)
        return answer

    def named_subject(self, entries: list[Entry], terms: list[Term]) -> dict | None:
        """ "Cheaper than the down jacket?": the product named is what cheaper is measured against."""
        if not (self.question.relative and self.question.terms and entries):
            return None
        top = entries[0]
        scores = sorted((sum(e.weight(t) for t in terms) for e in entries[:2]), reverse=True)
        if len(scores) > 1 and scores[0] == scores[1]:
            return None  # "cheaper boots": no one pair of boots is named
        return products.subject_of([top], terms)

    def page_subject(self) -> dict | None:
        """The product page's product as what "cheaper" and "similar" are measured against."""
        page = self.page_entry()
        return products.subject_of([page], []) if page is not None else None

    def related(self, terms: list[Term], shown: set[str]) -> list[Entry]:
        """Other products of a broader kind than the ones shown (a down jacket is a jacket)."""
        lexicon = self.catalogue.lexicon
        broader = [Term(p, lexicon.kind(p), p) for t in terms for p in lexicon.parents.get(t.concept, ())]
        kinds = [t for t in broader if t.kind == "thing"]
        if not kinds:
            return []
        return [e for e in self.catalogue.search(kinds).entries if e.product.id not in shown]

    def intro(self, count: int, what: str, low, high) -> str:
        limits = []
        if high is not None:
            limits.append(_("under %(price)s") % {"price": self.shop.format_price(high, _currency(self))})
        if low is not None:
            limits.append(_("over %(price)s") % {"price": self.shop.format_price(low, _currency(self))})
        limit = " ".join(limits)
        if self.question.gift:
            return _("Some gift ideas %(limit)s:") % {"limit": limit} if limit else _("Some gift ideas:")
        if count == 1:
            return _("Here's what I found for “%(what)s”:") % {"what": what} if what else _("Here's what I found:")
        if what:
            return _("I found %(count)d for “%(what)s”:") % {"count": count, "what": what}
        return _("I found %(count)d that match:") % {"count": count}

    def nothing_in_range(self, entries: list[Entry], terms: list[Term], what: str, low, high) -> Answer:
        if not entries:
            if self.question.relative:
                return Answer(_("That's all we have of those: there is nothing cheaper."))
            return Answer(_('I couldn\'t find any products matching "%(query)s".') % {"query": what or _("products")})
        ranked, _stated = products.order_by(entries, "price_asc" if high is not None else "price_desc")
        nearest = ranked[0]
        limit = self.shop.format_price(high if high is not None else low, _currency(self))
        if high is not None:
            text = _("We have no %(what)s under %(limit)s. The cheapest is the %(product)s (%(offer)s).")
        else:
            text = _("We have no %(what)s over %(limit)s. The most expensive is the %(product)s (%(offer)s).")
        if self.question.relative == "cheaper":
            text = _(
                "These are the cheapest %(what)s we have; nothing cheaper. The cheapest is the %(product)s (%(offer)s)."
            )
        text = text % {
            "what": what or _("products"),
            "limit": limit,
            "product": products.link(nearest.product),
            "offer": products.offer(self.shop, nearest.product),
        }
        return Answer(text, [nearest.product], [], products.subject_of([nearest], terms))


def _only_about_stock(properties: list[Term], question: Question) -> bool:
    """Nothing asked but price or stock: "is it back in stock?", not "is it available in navy?"."""
    if not properties:
        return True
    return question.asks_stock and all(t.kind == "word" for t in properties)


def _properties(terms: list[Term], entry: Entry, *, keep_qualities: bool = False) -> list[Term]:
    """The words of a question about one product that are not its name: what is asked about it. On its
    own page, "is this one waterproof?" asks about waterproof even if its name says so."""
    return [
        t
        for t in terms
        if (t.concept not in entry.title or keep_qualities and t.kind in ("quality", "colour"))
        and not (t.kind == "cjk" and t.concept in entry.title_text)
    ]


def _mentioned_only(entry: Entry, terms: list[Term]) -> bool:
    return all(entry.field_weight(t) <= BODY for t in terms)


def _comes_in(entry: Entry, size: str) -> bool:
    listed = facts.sizes(entry.product.description)
    return bool(listed and listed.has(size))


def _decimal(value: str) -> Decimal:
    return Decimal(value)


def _currency(question: ProductQuestion) -> str:
    return question.catalogue.currency


def _in_stock_dearest_first(entry: Entry) -> tuple[bool, float]:
    return (not entry.product.in_stock, -float(entry.product.price or 0))


def _one_per_category(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    first: list[Entry] = []
    rest: list[Entry] = []
    for entry in entries:
        (rest if entry.product.category in seen else first).append(entry)
        seen.add(entry.product.category)
    return first + rest


def _nothing_found(query: str) -> Answer:
    return Answer(
        _(
            'I couldn\'t find any products matching "%(query)s". Try other words, browse the catalogue, '
            "or ask to talk to a human."
        )
        % {"query": query},
        suggestions=starters(),
    )


def starters() -> list[str]:
    return [_("What are your shipping options?"), _("How do returns work?"), _("Where is my order?")]
