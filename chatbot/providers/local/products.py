"""Answers about products: a short list that respects the question's constraints, one product's facts,
a comparison of two, the best by some measure, or a plain "we don't sell that"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from chatbot.providers.local import facts
from chatbot.providers.local.catalogue import Catalogue, Entry
from chatbot.providers.local.question import Question
from chatbot.providers.local.words import Term
from chatbot.shop.base import ProductInfo, ShopAdapter

#: Products named in the text; the cards show up to CARDS.
IN_TEXT, CARDS = 3, 5
_FACT_CHARS = 110
_WEIGHT_WORDS = re.compile(r"\d\s*(k?g|克|千克|公斤)\b|\bweigh", re.I)


@dataclass
class Answer:
    text: str
    products: list[ProductInfo] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    #: What a follow-up question ("any cheaper ones?", "is it waterproof?") refers to.
    subject: dict[str, Any] | None = None


def link(product: ProductInfo) -> str:
    return f"**[{product.title}]({product.url})**" if product.url else f"**{product.title}**"


def offer(shop: ShopAdapter, product: ProductInfo) -> str:
    """ "£135.00, in stock": price as the shop writes it and the cards' stock wording."""
    price = shop.price_text(product)
    return f"{price}, {product.availability()}" if price else product.availability()


def short_fact(product: ProductInfo) -> str:
    first = facts.sentences(product.description)[:1]
    if not first:
        return ""
    text = first[0]
    return text if len(text) <= _FACT_CHARS else text[: _FACT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def subject_of(entries: list[Entry], terms: list[Term]) -> dict[str, Any]:
    shown = [e.product for e in entries]
    prices = [str(p.price) for p in shown if p.price is not None]
    return {
        "terms": [[t.concept, t.kind, t.surface] for t in terms],
        "products": [p.id for p in shown],
        "low": min(prices, key=float) if prices else None,
        "high": max(prices, key=float) if prices else None,
    }


def listing(shop: ShopAdapter, entries: list[Entry], intro: str, terms: list[Term]) -> Answer:
    lines = [intro, ""]
    for entry in entries[:IN_TEXT]:
        product = entry.product
        fact = short_fact(product)
        lines.append(f"- {link(product)}: {offer(shop, product)}" + (f". {fact}" if fact else ""))
    if len(entries) > IN_TEXT:
        lines += ["", _("%(count)d more below.") % {"count": min(len(entries), CARDS) - IN_TEXT}]
    shown = entries[:CARDS]
    return Answer(
        "\n".join(lines).rstrip(),
        [e.product for e in shown],
        [_("Any cheaper ones?"), _("How much is delivery?")],
        subject_of(shown, terms),
    )


def names(terms: list[Term]) -> str:
    return " ".join(t.surface for t in terms)


_MEASURES: dict[str, tuple[Callable[[Entry], float | None], bool]] = {
    "price_asc": (lambda e: float(e.product.price) if e.product.price is not None else None, False),
    "price_desc": (lambda e: float(e.product.price) if e.product.price is not None else None, True),
    "warmest": (lambda e: _fact(e, "warmth", facts.warmth), True),
    "lightest": (lambda e: _fact(e, "weight", facts.weight_grams), False),
    "heaviest": (lambda e: _fact(e, "weight", facts.weight_grams), True),
    "largest": (lambda e: _fact(e, "volume", facts.volume_ml), True),
    "longest": (lambda e: _fact(e, "hours", facts.hours), True),
}


def _fact(entry: Entry, name: str, read: Callable[[str], Any]) -> Any:
    if name not in entry.facts:
        entry.facts[name] = read(entry.product.description)
    return entry.facts[name]


def order_by(entries: list[Entry], order: str) -> tuple[list[Entry], bool]:
    """``entries`` in the order asked for; False when no product states the measure."""
    measure, descending = _MEASURES[order]
    known = [(measure(e), e) for e in entries]
    with_value = [(v, e) for v, e in known if v is not None]
    if not with_value:
        return entries, False
    with_value.sort(key=lambda ve: ve[0], reverse=descending)
    return [e for _, e in with_value], True


def within_price(entries: list[Entry], low: Any, high: Any) -> list[Entry]:
    def fits(entry: Entry) -> bool:
        price = entry.product.price
        if price is None:
            return False
        return (low is None or price >= low) and (high is None or price <= high)

    return [e for e in entries if fits(e)]


def fits_people(entries: list[Entry], wanted: int) -> tuple[list[Entry], list[Entry]]:
    """(products for at least ``wanted`` people, products that say how many they are for)."""
    stated = [e for e in entries if _fact(e, "people", _people_in_title(e))]
    return [e for e in stated if e.facts["people"] >= wanted], stated


def _people_in_title(entry: Entry) -> Callable[[str], int | None]:
    return lambda description: facts.people(f"{entry.product.title} {description}")


def superlative(shop: ShopAdapter, entries: list[Entry], order: str, terms: list[Term]) -> Answer:
    ranked, stated = order_by(entries, order)
    best = ranked[0]
    if not stated:
        text = _("None of the descriptions says which is %(measure)s. Here is what we have:") % {
            "measure": _measure_word(order)
        }
        return listing(shop, entries, text, terms)
    detail = _measure_detail(best, order)
    text = _("The %(measure)s is the %(product)s (%(offer)s).") % {
        "measure": _measure_word(order),
        "product": link(best.product),
        "offer": offer(shop, best.product),
    }
    if detail:
        text += " " + detail
    others = ranked[1:IN_TEXT]
    if others:
        text += "\n\n" + _("Next: %(products)s.") % {
            "products": "; ".join(f"{link(e.product)} ({offer(shop, e.product)})" for e in others)
        }
    return Answer(text, [e.product for e in ranked[:CARDS]], [_("Any cheaper ones?")], subject_of([best], terms))


def _measure_word(order: str) -> str:
    return {
        "price_asc": _("cheapest"),
        "price_desc": _("most expensive"),
        "warmest": _("warmest"),
        "lightest": _("lightest"),
        "heaviest": _("heaviest"),
        "largest": _("largest"),
        "longest": _("longest-lasting"),
    }[order]


_MEASURE_WORDS = {
    "warmest": re.compile(r"°\s*C|rated|\bdown\b|insulat|fleece|wool|merino|羽绒|保暖", re.I),
    "lightest": _WEIGHT_WORDS,
    "heaviest": _WEIGHT_WORDS,
    "largest": re.compile(r"\d\s*(ml|l|litres?|liters?|毫升|升)\b", re.I),
    "longest": re.compile(r"\d\s*(hours?|小时)", re.I),
}


def _measure_detail(entry: Entry, order: str) -> str:
    """The sentence that states the measure a superlative was decided on."""
    pattern = _MEASURE_WORDS.get(order)
    return _sentence_matching(entry.product.description, pattern) if pattern else ""


def _sentence_matching(description: str, pattern: re.Pattern[str]) -> str:
    return next((s for s in facts.sentences(description) if pattern.search(s)), "")


def property_answer(
    shop: ShopAdapter, catalogue: Catalogue, entry: Entry, question: Question, properties: list[Term]
) -> Answer:
    """Yes, no, or what the description says, from the sentence that holds the fact."""
    product = entry.product
    subject = subject_of([entry], [])
    if question.asks_size or question.size:
        return _size_answer(shop, entry, question, subject)
    if question.asks_colour and not properties:
        listed = facts.colours(product.description, catalogue.lexicon)
        if listed:
            return Answer(
                _("The %(product)s: %(fact)s") % {"product": link(product), "fact": listed}, [product], [], subject
            )
    if question.asks_weight:
        grams = _fact(entry, "weight", facts.weight_grams)
        sentence = _sentence_matching(product.description, _WEIGHT_WORDS)
        if grams is not None and sentence:
            return Answer(f"{link(product)}: {sentence}", [product], [], subject)
    if properties:
        finding = facts.find(
            product.description, [t.concept for t in properties], catalogue.lexicon, [t.surface for t in properties]
        )
        if finding is not None:
            lead = {True: _("Yes."), False: _("No."), None: _("Partly.")}[finding.answer]
            if not question.yes_no and finding.answer is not False:
                lead = ""
            text = " ".join(
                x
                for x in (lead, _("The %(product)s: %(fact)s") % {"product": link(product), "fact": finding.sentence})
                if x
            )
            return Answer(text, [product], [_("Is it in stock?")], subject)
        text = _(
            "The description of the %(product)s doesn't say anything about %(what)s. Here is what it says: "
            "%(description)s"
        ) % {"product": link(product), "what": names(properties), "description": product.description}
        return Answer(
            text + "\n\n" + _("A member of our team can check for you: just ask to talk to a human."),
            [product],
            [],
            subject,
        )
    return detail(shop, entry)


def _size_answer(shop: ShopAdapter, entry: Entry, question: Question, subject: dict[str, Any]) -> Answer:
    product = entry.product
    sizes = facts.sizes(product.description)
    if sizes is None:
        text = _("The description of the %(product)s doesn't list sizes: %(description)s") % {
            "product": link(product),
            "description": product.description,
        }
        return Answer(text, [product], [], subject)
    listed = _("The %(product)s come in these sizes: %(fact)s") % {"product": link(product), "fact": sizes.sentence}
    if question.size:
        available = sizes.has(question.size)
        if available is True:
            text = _("Yes, the %(product)s come in size %(size)s: %(fact)s") % {
                "product": link(product),
                "size": question.size,
                "fact": sizes.sentence,
            }
        elif available is False:
            text = _("No, the %(product)s don't come in size %(size)s: %(fact)s") % {
                "product": link(product),
                "size": question.size,
                "fact": sizes.sentence,
            }
        else:
            text = listed
    else:
        text = listed
    return Answer(f"{text} ({offer(shop, product)})", [product], [_("Is it in stock?")], subject)


def detail(shop: ShopAdapter, entry: Entry) -> Answer:
    """One product: price, stock and its description."""
    product = entry.product
    text = _("%(product)s: %(offer)s.") % {"product": link(product), "offer": offer(shop, product)}
    if product.description:
        text += "\n\n" + product.description
    return Answer(text, [product], [_("Any cheaper ones?")], subject_of([entry], []))


def compare(shop: ShopAdapter, catalogue: Catalogue, first: Entry, second: Entry) -> Answer:
    rows = []
    for entry in (first, second):
        product = entry.product
        rows.append(f"- {link(product)}: {offer(shop, product)}. {product.description}")
    notes = []
    a, b = first.product, second.product
    if a.price is not None and b.price is not None and a.price != b.price:
        cheaper = a if a.price < b.price else b
        notes.append(_("The %(product)s is cheaper.") % {"product": cheaper.title})
    wa, wb = _fact(first, "weight", facts.weight_grams), _fact(second, "weight", facts.weight_grams)
    if wa and wb and wa != wb:
        notes.append(_("The %(product)s is lighter.") % {"product": (a if wa < wb else b).title})
    for concept in ("waterproof",):
        says = [facts.find(e.product.description, [concept], catalogue.lexicon, [concept]) for e in (first, second)]
        yes = [e.product.title for e, s in zip((first, second), says, strict=True) if s and s.answer is True]
        if len(yes) == 1:
            notes.append(_("Only the %(product)s is described as waterproof.") % {"product": yes[0]})
    text = _("Here is how they compare:") + "\n\n" + "\n".join(rows)
    if notes:
        text += "\n\n" + " ".join(notes)
    return Answer(text, [a, b], [], subject_of([first, second], []))
