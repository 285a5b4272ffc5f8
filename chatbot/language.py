"""The languages the assistant answers in, and the one place that tells them apart.

The assistant answers in the language the visitor writes in: English, or Simplified Chinese for a
question with Chinese characters in it, whatever the page's language. Everything that asks "is this
Chinese?" (of a text or of a language code) asks here; the words themselves are in the gettext
catalogues (``chatbot/locale``).
"""

from __future__ import annotations

import re

from django.utils import translation

ENGLISH = "en"
#: The language code of Chinese replies, catalogues and widget labels.
CHINESE = "zh-hans"

#: Han characters: CJK Unified Ideographs, Extension A and the Compatibility Ideographs; for use
#: inside a regular expression's character class.
HAN = "\u3400-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(f"[{HAN}]+")


def has_chinese(text: str) -> bool:
    """Whether ``text`` has a Chinese character in it."""
    return HAN_RUN.search(text) is not None


def mostly_chinese(text: str) -> bool:
    """Whether more than a third of ``text`` is Chinese characters (a Chinese sentence that names a
    product in English is still Chinese)."""
    return sum(len(run) for run in HAN_RUN.findall(text)) > len(text) / 3


def is_chinese(language: str) -> bool:
    """Whether a language code (``zh-hans``, ``zh-Hans``, ``zh-cn``, ``zh``) is Chinese."""
    return language.lower().startswith("zh")


def reply_language(language: str) -> str:
    """The language a reply is written in for a language code: :data:`CHINESE` or :data:`ENGLISH`."""
    return CHINESE if is_chinese(language) else ENGLISH


def written_language(text: str) -> str:
    """The language ``text`` is written in: :data:`CHINESE` when it has Chinese in it, else English."""
    return CHINESE if has_chinese(text) else ENGLISH


def active_language() -> str:
    """The language of the request being served (the page's), English outside a request."""
    return translation.get_language() or ENGLISH


def answer_language(text: str) -> str:
    """The language to answer a visitor's ``text`` in: Chinese when they write Chinese, else the
    site's active language."""
    return CHINESE if has_chinese(text) else active_language()
