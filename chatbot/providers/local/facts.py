"""Facts inside a product description: the sentence that answers a question, sizes, weight, warmth.

Descriptions are written for people ("Rated to -10 °C comfort", "UK sizes 4-12", "附带盖子"); these
helpers find the sentence that holds a fact and read the few numbers shoppers compare products on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.language import HAN
from chatbot.providers.local.words import Lexicon

_SENTENCE_END = re.compile(rf"(?<=[.!?])\s+(?=[A-Z0-9{HAN}])|(?<=[。！？])")
_NEGATION = re.compile(r"\b(not|no|never|without|isn't|aren't|doesn't|don't)\b|不|没有|非|无", re.I)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "single": 1,
    "solo": 1,
    "double": 2,
    "一": 1,
    "单": 1,
    "二": 2,
    "两": 2,
    "双": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
}
_WEIGHT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(kg|g)\b(?!sm)|(\d+(?:\.\d+)?)\s*(千克|公斤|克)", re.I)
_RATING = re.compile(r"(?:rated to|comfort(?: rating)?(?: of)?)\s*(-?\d+)\s*°\s*c|(-?\d+)\s*°\s*c\s*comfort", re.I)
_PEOPLE = re.compile(
    r"\b(\d+|one|two|three|four|five|six|single|solo|double)[- ](?:person|man|people|berth)\b"
    r"|\b(?:serves|sleeps|fits|for)\s+(\d+|one|two|three|four|five|six)\s+(?:people|persons|adults)\b"
    r"|\bsleeps\s+(\d+|one|two|three|four|five|six)\b|\b(?:family|group) of\s+(\d+|two|three|four|five|six)\b"
    r"|\bfor\s+(\d|two|three|four|five|six)\s*[?.!]?\s*$|([一二两三四五六\d])\s*个?人",
    re.I,
)
_SIZE_RANGE = re.compile(
    r"(?:sizes?|码|尺码)\s*(?:uk\s*)?(\d+(?:\.5)?)\s*(?:-|–|to|至|到)\s*(\d+(?:\.5)?)"
    r"|英码\s*(\d+)\s*(?:-|至|到)\s*(\d+)",
    re.I,
)
_LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")
_LETTER_RANGE = re.compile(
    r"(?<![A-Za-z])(XXS|XS|S|M|L|XL|XXL|XXXL)\s*(?:-|–|to|至)\s*(XXS|XS|S|M|L|XL|XXL|XXXL)(?![A-Za-z])"
)
_VOLUME = re.compile(r"(\d+(?:\.\d+)?)\s*(ml|l|litres?|liters?|毫升|升)\b", re.I)
_HOURS = re.compile(r"(\d+)\s*(?:hours|小时)", re.I)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def weight_grams(text: str) -> float | None:
    match = _WEIGHT.search(text)
    if not match:
        return None
    value = float((match.group(1) or match.group(3)).replace(",", "."))
    unit = (match.group(2) or match.group(4)).lower()
    return value * 1000 if unit in ("kg", "千克", "公斤") else value


def rating_celsius(text: str) -> int | None:
    match = _RATING.search(text)
    return int(match.group(1) or match.group(2)) if match else None


_INSULATION = (
    (re.compile(r"\bdown\b|羽绒|鸭绒|鹅绒", re.I), 30.0),
    (re.compile(r"\binsulated\b|\binsulation\b", re.I), 20.0),
    (re.compile(r"\bfleece\b|\bwool\b|\bmerino\b|\blambswool\b|抓绒|羊毛", re.I), 10.0),
)


def warmth(text: str) -> float | None:
    """How warm a product says it is: its comfort rating (lower is warmer) first, else what it is
    filled or made with (down before insulation before fleece and wool); None when it says nothing."""
    rating = rating_celsius(text)
    if rating is not None:
        return 100.0 - rating
    return next((score for pattern, score in _INSULATION if pattern.search(text)), None)


def people(text: str) -> int | None:
    match = _PEOPLE.search(text)
    if not match:
        return None
    return number(next(g for g in match.groups() if g))


def volume_ml(text: str) -> float | None:
    match = _VOLUME.search(text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).lower()
    return value if unit in ("ml", "毫升") else value * 1000


def hours(text: str) -> int | None:
    found = [int(h) for h in _HOURS.findall(text)]
    return max(found) if found else None


@dataclass(frozen=True)
class Sizes:
    """The sizes a description gives: a numeric range (UK shoe sizes, waist inches) and/or letters."""

    low: float | None = None
    high: float | None = None
    letters: tuple[str, ...] = ()
    sentence: str = ""

    def has(self, size: str) -> bool | None:
        size = size.upper().strip()
        if size in _LETTER_SIZES:
            return size in self.letters if self.letters else None
        try:
            value = float(size)
        except ValueError:
            return None
        if self.low is None or self.high is None:
            return None
        return self.low <= value <= self.high


def sizes(text: str) -> Sizes | None:
    for sentence in sentences(text):
        numbers = [(float(a or c), float(b or d)) for a, b, c, d in _SIZE_RANGE.findall(sentence)]
        letters = _LETTER_RANGE.search(sentence)
        if not numbers and not letters and not re.search(r"\bsizes?\s+[SML]\b.*\(", sentence, re.I):
            continue
        if not numbers:
            numbers = [(float(a), float(b)) for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", sentence)]
        letter_run: tuple[str, ...] = ()
        if letters:
            start, end = _LETTER_SIZES.index(letters.group(1)), _LETTER_SIZES.index(letters.group(2))
            letter_run = _LETTER_SIZES[start : end + 1]
        low = min((a for a, _ in numbers), default=None)
        high = max((b for _, b in numbers), default=None)
        return Sizes(low, high, letter_run, sentence)
    return None


@dataclass(frozen=True)
class Finding:
    """The sentence of a description that speaks of a property, and whether it says yes or no."""

    sentence: str
    #: True: the sentence says it has the property; False: it says it has not; None: only related
    #: (water-resistant when asked about waterproof).
    answer: bool | None


#: Properties a sentence may hold only in part: asked the first, finding only the second.
PARTIAL = {"waterproof": "water resistant"}
#: Words that say a product has not got a property: "hand wash only" answers "dishwasher safe?".
CONTRARY = {
    "dishwasher": ("hand wash", "handwash", "手洗"),
    "washable": ("hand wash", "dry clean", "手洗", "干洗"),
    "waterproof": ("not waterproof", "drain fast"),
}
#: Words that do say it, beside a contrary one ("machine wash at 30 °C; hand wash the trim").
AFFIRMING = {"dishwasher": ("dishwasher safe",), "washable": ("machine wash", "机洗")}
#: What a description says instead of the property's own word: a sleeping bag "rated to -10 °C" is warm.
EVIDENCE = {
    "warm": re.compile(r"rated to|°\s*c comfort|insulated|\bdown\b|fleece|lambswool|merino|羽绒|保暖|白鸭绒", re.I),
    "waterproof": re.compile(r"\bipx?[5-8]\b|hydrostatic|waterproof membrane", re.I),
    "battery": re.compile(r"\d+\s*(hours|小时)|\bmah\b", re.I),
}


def find(description: str, concepts: list[str], lexicon: Lexicon, surfaces: list[str]) -> Finding | None:
    """The sentence of ``description`` about ``concepts`` (or naming one of ``surfaces``)."""
    candidates = sentences(description)
    for concept in concepts:
        for sentence in candidates:
            lowered = sentence.lower()
            if any(word in lowered for word in CONTRARY.get(concept, ())) and not any(
                word in lowered for word in AFFIRMING.get(concept, ())
            ):
                return Finding(sentence, False)
    for concept, surface in zip(concepts, surfaces, strict=False):
        for wanted, answer in ((concept, True), (PARTIAL.get(concept), None)):
            if wanted is None:
                continue
            for sentence in candidates:
                found = _mentions(sentence, wanted, lexicon)
                if not found and answer is True and surface and surface.lower() in sentence.lower():
                    found = surface
                if found:
                    said = answer
                    if said is True and _negated(sentence, found):
                        said = False
                    return Finding(sentence, said)
    for concept in concepts:
        evidence = EVIDENCE.get(concept)
        for sentence in candidates:
            if evidence is not None and evidence.search(sentence):
                return Finding(sentence, True)
    # "Does it come in red?" of a casserole in sage green: the colours it does come in say no.
    for concept in concepts:
        if lexicon.kind(concept) == "colour":
            listed = colours(description, lexicon)
            if listed is not None:
                return Finding(listed, False)
    return None


def colours(description: str, lexicon: Lexicon) -> str | None:
    """The sentence of ``description`` that names its colours."""
    for sentence in sentences(description):
        if re.search(r"\bcolou?rs?\b|颜色", sentence, re.I) or any(
            lexicon.kind(term.concept) == "colour" for term in lexicon.terms(sentence)
        ):
            return sentence
    return None


def _mentions(sentence: str, concept: str, lexicon: Lexicon) -> str:
    for term in lexicon.terms(sentence):
        if concept in lexicon.ancestors(term.concept):
            return term.surface
    return ""


def _negated(sentence: str, surface: str) -> bool:
    """ "Not a voltage converter", "an E27 bulb (not included)": a negation in the same clause before
    the word, or right after it."""
    lowered = sentence.lower()
    at = lowered.find(surface.lower())
    if at < 0:
        return bool(_NEGATION.search(lowered))
    clause_start = max(lowered.rfind(mark, 0, at) for mark in (",", ";", ":", ".", "，", "；", "。"))
    before = lowered[clause_start + 1 : at]
    after = lowered[at + len(surface) : at + len(surface) + 16]
    return bool(_NEGATION.search(before) or re.match(r"\W*\(?\s*(not|no)\b", after))
