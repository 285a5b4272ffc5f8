"""Policy answers: the sentence of the shop's page that answers the question, not the page.

Pages are cut into sections (headings) and sentences. Each sentence is scored on the question's words,
rarer words counting more, with its section's heading as context; an amount of money counts when the
question asks how much, a number of days when it asks how long. A Chinese question is answered from the
page's Chinese summary where it has one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from chatbot.language import has_chinese, mostly_chinese
from chatbot.providers.local.words import Lexicon, cjk_words_of, stem
from chatbot.shop.base import Policy

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z£0-9])|(?<=[。！？；])")
_CLAUSES = re.compile(r",\s+(?:and\s+)?|\s+and\s+(?=£|\d)|，")
_MONEY = re.compile(r"[£$€¥]\s?\d|\d+\s?(?:pounds|镑)")
_DURATION = re.compile(
    r"\d+\s*(?:-\s*\d+\s*)?(?:working )?(?:days?|hours?|weeks?|months?|years?)|\d+\s*(?:个)?(?:工作日|天|小时|个月|年)"
    r"|next (?:working )?day|次日",
    re.I,
)
_ASKS_MONEY = re.compile(r"\bhow much\b|\bcost|\bprice|\bfee|\bcharge|\bfree\b|多少钱|运费|费用|收费|免费|价格", re.I)
_ASKS_TIME = re.compile(
    r"\bhow long\b|\bwhen\b|\bhow soon\b|\bhow quickly\b|\bdays?\b|\bwait\b|多久|多长时间|几天|什么时候", re.I
)
_NEGATIVE = re.compile(r"\b(cannot|can't|not|no|never|unless)\b|不|无法|除", re.I)
_CONDITIONAL = re.compile(
    r"\b(only|must|unless|except|if|when|over|under|within|before|after)\b|须|必须|仅|除|满|前", re.I
)
_ASKS_YES_NO = re.compile(r"^\s*(can|could|do|does|is|are|will|may)\b|能不能|可不可以|(可以|能|支持|接受).*吗", re.I)
_ENOUGH = 0.9
_GENERIC = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "is",
        "are",
        "be",
        "we",
        "you",
        "your",
        "our",
        "it",
        "can",
        "with",
        "by",
        "or",
        "at",
    ]
)


@dataclass
class Sentence:
    text: str
    heading: str
    chinese: bool


def parse(policy: Policy) -> list[Sentence]:
    """The page's sentences with their section headings; those after a "中文" heading are Chinese."""
    result: list[Sentence] = []
    heading, chinese = "", False
    for paragraph in _PARAGRAPHS.split(policy.text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) < 40 and not re.search(r"[.。!?！？]$", paragraph):
            heading = paragraph
            chinese = "中文" in paragraph
            continue
        for sentence in _SENTENCES.split(paragraph):
            if sentence.strip():
                result.append(Sentence(sentence.strip(), heading, chinese or mostly_chinese(sentence)))
    return result


def _words(text: str, lexicon: Lexicon, cjk: frozenset[str]) -> set[str]:
    """Concepts of ``text``, and the pieces of the page's Chinese it contains; no filler words."""
    found: set[str] = set()
    for term in lexicon.terms(text, cjk):
        found |= lexicon.ancestors(term.concept)
    lowered = text.lower()
    for piece in cjk:
        # A piece the lexicon knows already counts as its concept ("运费" is a charge), not twice.
        if piece in lowered and piece not in lexicon.chinese:
            found.add(piece)
    return {w for w in found if w not in _GENERIC and w not in lexicon.ignore}


def _bag(text: str, lexicon: Lexicon, cjk: frozenset[str]) -> set[str]:
    """The concepts of ``text`` and its plain English words."""
    words = {stem(w) for w in re.findall(r"[a-z]+", text.lower())}
    return _words(text, lexicon, cjk) | {w for w in words if w not in lexicon.ignore}


def answer(question: str, policy: Policy, lexicon: Lexicon, chinese: bool) -> str | None:
    """The best sentence or two of ``policy`` for ``question``, marked up; None when nothing matches.

    A Chinese question is answered from the page's Chinese summary, and from the rest of the page when
    the summary leaves the fact out ("Footwear must have been worn indoors only")."""
    sentences = parse(policy)
    in_language = [s for s in sentences if s.chinese == chinese]
    found = _answer(question, in_language or sentences, lexicon)
    if found is None and chinese and in_language:
        found = _answer(question, [s for s in sentences if not s.chinese], lexicon)
    return found


def _answer(question: str, pool: list[Sentence], lexicon: Lexicon) -> str | None:
    # Two-character pieces of the page's Chinese ("运费", "工作日" as "工作"), so the lexicon's longer words
    # ("退款") are never swallowed by a long stretch of the page.
    pieces = cjk_words_of(" ".join(s.text for s in pool)) if has_chinese(question) else set()
    cjk = frozenset(p for p in pieces if len(p) == 2)
    asked = _bag(question, lexicon, cjk) - _GENERIC
    if not pool:
        return None
    bags = [_bag(s.text, lexicon, cjk) for s in pool]
    heads = [_bag(s.heading, lexicon, cjk) for s in pool]
    frequency = {w: sum(1 for bag in bags if w in bag) for w in asked}
    wants_money, wants_time = bool(_ASKS_MONEY.search(question)), bool(_ASKS_TIME.search(question))
    scores = []
    for index, (sentence, bag, head) in enumerate(zip(pool, bags, heads, strict=True)):
        score = sum(_weight(w, lexicon) / math.sqrt(frequency[w]) for w in asked & bag if frequency[w])
        score += 0.5 * sum(1 / math.sqrt(frequency[w] or 1) for w in asked & head)
        if wants_money and _MONEY.search(sentence.text):
            score += 1.5
        if wants_time and _DURATION.search(sentence.text):
            score += 1
        scores.append((score, -index))
    best_score, best_neg = max(scores)
    # Only a common word ("delivery") in common, and words the page never uses ("not home"): the page
    # does not answer this question.
    if best_score <= 0 or best_score < _ENOUGH and any(frequency[w] == 0 for w in asked):
        return None
    best = -best_neg
    chosen = [best]
    wanted = _MONEY if wants_money else _DURATION if wants_time else None
    # "How long will it take?": the standard and the express times, when both sentences answer it.
    for earlier in range(best - 1, max(best - 3, -1), -1):
        if wanted is None or pool[earlier].heading != pool[best].heading:
            break
        if wanted.search(pool[earlier].text) and scores[earlier][0] >= best_score * 0.5:
            chosen.insert(0, earlier)
            break
    # "It is free on orders over £50" needs the sentence before it to say what "it" is.
    if (
        chosen[0] == best
        and best > 0
        and re.match(r"(it|they|this|these|that)\b", pool[best].text, re.I)
        and (pool[best - 1].heading == pool[best].heading)
    ):
        chosen.insert(0, best - 1)
    # The next sentence of the same paragraph, when it speaks to the question too.
    following = best + 1
    if (
        following < len(pool)
        and scores[following][0] >= best_score * 0.6
        and pool[following].heading == pool[best].heading
    ):
        chosen.append(following)
    text = " ".join(
        _highlight(pool[i].text, asked, lexicon, cjk, wanted) if wanted and i == best else pool[i].text for i in chosen
    )
    # "Do you accept PayPal?" is a yes only when the page names what is asked about: the question's
    # rare words (a payment method, a country), not "pay" or "delivery", which every sentence has.
    keys = {w for w in asked if frequency[w] <= 1}
    lead = _yes_no(question, pool[best].text, bool(keys) and keys <= bags[best])
    return f"{lead} {text}".strip() if lead else text


def _weight(word: str, lexicon: Lexicon) -> float:
    # A destination decides a delivery question: "to the USA" picks the rest-of-the-world price.
    return 2.0 if lexicon.kind(word) == "place" else 1.0


def _highlight(sentence: str, asked: set[str], lexicon: Lexicon, cjk: frozenset[str], answers: re.Pattern[str]) -> str:
    """Bold the clause of a long sentence that answers: "… and **£19.95 to the rest of the world**"."""
    clauses = [c for c in _CLAUSES.split(sentence) if c.strip()]
    if len(clauses) < 2:
        return sentence
    hits = [
        sum(_weight(w, lexicon) for w in asked & _bag(c, lexicon, cjk)) if answers.search(c) else 0 for c in clauses
    ]
    top = max(hits)
    if top == 0 or hits.count(top) > 1:
        return sentence
    clause = clauses[hits.index(top)].strip().rstrip(".。")
    return sentence.replace(clause, f"**{clause}**", 1)


def _yes_no(question: str, sentence: str, names_it: bool) -> str:
    if not _ASKS_YES_NO.search(question):
        return ""
    if _NEGATIVE.search(sentence):
        return _("No:") if not _CONDITIONAL.search(sentence) or re.search(r"cannot|can't|不能|不予", sentence) else ""
    return "" if _CONDITIONAL.search(sentence) or not names_it else _("Yes:")


def more_link(policy: Policy) -> str:
    if not policy.url:
        return ""
    return _("[Read the full %(title)s page](%(url)s)") % {"title": policy.title, "url": policy.url}
