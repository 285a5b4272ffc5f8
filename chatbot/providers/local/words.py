"""Words of a question or a product, as concepts: the bilingual lexicon and the tokenizer.

English is split into words, plural endings removed, and phrases from the lexicon ("sleeping bag")
joined into one concept. Chinese has no spaces: a run of CJK characters is cut by longest match against
the lexicon's Chinese words and the Chinese words of the shop's own titles; characters that match
nothing (particles, "请问", "有没有") are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chatbot.language import HAN, HAN_RUN, has_chinese

_LATIN_WORD = re.compile(r"[a-z0-9]+")
LEXICON_FILE = Path(__file__).with_name("lexicon.txt")
_MAX_PHRASE = 4
_MAX_CJK = 6
_DENIED = re.compile(r"\bnot\b|\bnon-|不")


_SCRIPT_CHANGE = re.compile(f"(?<=[{HAN}])(?=[A-Za-z0-9£$€#])|(?<=[A-Za-z0-9%])(?=[{HAN}])")


def spaced(text: str) -> str:
    """A space where Chinese meets Latin letters or digits ("订单100007到哪" -> "订单 100007 到哪"), so
    word boundaries in the question's patterns hold in mixed text."""
    return _SCRIPT_CHANGE.sub(" ", text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The singular of an English word, well enough to match "boots" with "boot" (not a dictionary)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz" or word.endswith(("ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def latin_words(text: str) -> list[str]:
    return [stem(w) for w in raw_words(text)]


def raw_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text.lower().replace("'s ", " "))


@dataclass(frozen=True)
class Term:
    """One meaningful word of a text: the concept it names and what kind of concept that is."""

    concept: str
    #: thing | quality | colour | word (an English word the lexicon does not know) | cjk (a Chinese word
    #: of the shop's titles)
    kind: str
    surface: str


class Lexicon:
    """Concepts with their English phrases and Chinese words, and each concept's broader concepts."""

    def __init__(self, text: str):
        self.kinds: dict[str, str] = {}
        self.parents: dict[str, tuple[str, ...]] = {}
        self.phrases: dict[tuple[str, ...], str] = {}
        self.chinese: dict[str, str] = {}
        #: Words that say nothing about which product is meant ("please", "cheapest", "size").
        self.ignore: frozenset[str] = frozenset()
        ignore: set[str] = set()
        kind = "thing"
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                kind = line[1:-1].strip()
                continue
            if kind == "ignore":
                ignore.update(stem(w) for w in line.lower().split())
                continue
            head, _, words = line.partition("=")
            name, _, parents = head.partition("<")
            concept = name.strip().lower()
            self.kinds.setdefault(concept, kind)
            if parents.strip():
                self.parents[concept] = tuple(p.strip().lower() for p in parents.split(","))
            for word in [concept, *words.split(",")]:
                word = word.strip().lower()
                if has_chinese(word):
                    self.chinese.setdefault(word, concept)
                elif word:
                    self.phrases.setdefault(tuple(latin_words(word)), concept)
        self.ignore = frozenset(ignore)
        #: The longest phrase starting with each word, so most words cost one look-up.
        self.longest: dict[str, int] = {}
        for phrase in self.phrases:
            self.longest[phrase[0]] = max(self.longest.get(phrase[0], 1), len(phrase))
        self._ancestors: dict[str, frozenset[str]] = {}

    def ancestors(self, concept: str) -> frozenset[str]:
        known = self._ancestors.get(concept)
        if known is not None:
            return known
        found, todo = {concept}, [concept]
        while todo:
            for parent in self.parents.get(todo.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        self._ancestors[concept] = frozenset(found)
        return self._ancestors[concept]

    def kind(self, concept: str) -> str:
        return self.kinds.get(concept, "word")

    def terms(self, text: str, cjk_words: frozenset[str] = frozenset()) -> list[Term]:
        """The concepts ``text`` names, in order; ``cjk_words`` are extra Chinese words (the titles')."""
        found: list[Term] = []
        lowered = text.lower()
        raw = raw_words(HAN_RUN.sub(" , ", lowered))
        words = [stem(w) for w in raw]
        index = 0
        while index < len(words):
            longest = self.longest.get(words[index], 1)
            for size in range(min(longest, len(words) - index), 0, -1):
                phrase = tuple(words[index : index + size])
                concept = self.phrases.get(phrase)
                if concept is not None:
                    found.append(Term(concept, self.kind(concept), " ".join(raw[index : index + size])))
                    index += size
                    break
            else:
                found.append(Term(words[index], "word", raw[index]))
                index += 1
        for run in HAN_RUN.findall(lowered):
            found.extend(self._cjk_terms(run, cjk_words))
        return found

    def concepts(self, text: str) -> frozenset[str]:
        """The concepts ``text`` names and their broader ones (products are indexed by these); a word
        the text denies ("Not waterproof", "non-stick", "不防水") is left out."""
        found: set[str] = set()
        lowered = text.lower()
        for term in self.terms(text):
            if _DENIED.search(lowered) and re.search(rf"(?:\bnot\s+|\bnon-?|不){re.escape(term.surface)}", lowered):
                continue
            found |= self.ancestors(term.concept)
        return frozenset(found)

    def phrase_words(self, text: str) -> frozenset[str]:
        """The plain words inside the lexicon's phrases in ``text`` ("coffee" of "coffee maker")."""
        return frozenset(
            w
            for term in self.terms(text)
            if " " in term.surface
            for w in latin_words(term.surface)
            if (w,) not in self.phrases and w not in self.ignore
        )

    def _cjk_terms(self, run: str, cjk_words: frozenset[str]) -> list[Term]:
        found = []
        index = 0
        while index < len(run):
            for size in range(min(_MAX_CJK, len(run) - index), 0, -1):
                piece = run[index : index + size]
                if piece in self.chinese:
                    concept = self.chinese[piece]
                    found.append(Term(concept, self.kind(concept), piece))
                    break
                if size > 1 and piece in cjk_words:
                    found.append(Term(piece, "cjk", piece))
                    break
            else:
                size = 1
            index += size
        return found


@lru_cache(maxsize=4)
def load_lexicon(extra_file: str = "") -> Lexicon:
    text = LEXICON_FILE.read_text(encoding="utf-8")
    if extra_file:
        # The shop's own lines come first, so its meanings win over the built-in ones.
        text = Path(extra_file).read_text(encoding="utf-8") + "\n[thing]\n" + text
    return Lexicon(text)


def cjk_words_of(text: str) -> set[str]:
    """Every Chinese piece of two to six characters in ``text`` (titles), for cutting questions."""
    pieces: set[str] = set()
    for run in HAN_RUN.findall(text.lower()):
        for size in range(2, min(_MAX_CJK, len(run)) + 1):
            pieces.update(run[i : i + size] for i in range(len(run) - size + 1))
    return pieces
