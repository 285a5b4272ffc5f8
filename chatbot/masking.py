"""Secrets a visitor types (card numbers, security codes) are masked before they are stored or sent on.

Matching runs on a folded copy of the text: NFKC (full-width digits and letters, no-break and other
odd spaces become their plain forms) and every Unicode decimal digit as its ASCII digit, so "４１１１"
or Arabic-Indic digits are read as the number they are. Only the matched spans of the original text
are replaced; the rest is stored as typed.

A card number is 13 to 19 digits in groups separated by up to five characters of anything that is not
a letter or digit (spaces, tabs, new lines, dots, dashes, slashes...), starting with 2 to 6 (every major
scheme does) and passing the Luhn check. That leaves phone numbers alone, even the one in ten that
passes Luhn: written internationally they start with "+" or "00", nationally with "0" or "1" (Chinese
mobiles), never with 2 to 6 at 13 digits or more. IBANs (two letters, two check digits, up to 30 more)
are masked when their ISO 7064 mod-97 check holds. A security code is 3 or 4 digits a few words after
"CVV", "security code", "安全码" and the like ("my security code is 737").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

# Groups of digits and what separates them; the run is cut into card-sized windows below.
_DIGIT_RUN = re.compile(r"\d+(?:[^\w+]{1,5}\d+|_{1,5}\d+)*")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CVC = re.compile(
    r"(?i)(?<![a-z])(cvc2?|cvv2?|cvn|csc|cid|sec(?:urity)?\s+(?:code|number)"
    r"|(?:card\s+)?(?:verification|security)\s+(?:code|value|number)"
    r"|安全码|验证码|校验码|安全代码)(?![a-z])([^\d\n]{0,20}?)(\d{3,4})(?!\d)"
)
_PASSWORD = re.compile(r"(?i)(?<![a-z])(password|passwd|pwd|密码)(\s*(?:is|是)?\s*[:：=]?\s*)(\S+)")

#: A replacement: (start, end) in the folded text, and what goes there.
Span = tuple[int, int, str]


def _fold(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the original it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            digit = unicodedata.decimal(piece, None)
            chars.append(str(digit) if digit is not None else piece)
            origin.append(index)
    return "".join(chars), origin


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_ok(digits)


def _cards(folded: str) -> Iterator[Span]:
    for run in _DIGIT_RUN.finditer(folded):
        before = folded[run.start() - 1] if run.start() else ""
        groups = list(re.finditer(r"\d+", run.group(0)))
        if before == "+" or groups[0].group(0).startswith("00"):
            continue  # an international phone number
        start = 0
        # Windows of whole groups, longest first from each group: a card may follow an order number
        # in the same run ("order 200001 4111 1111 1111 1111").
        while start < len(groups):
            for end in range(len(groups), start, -1):
                digits = "".join(group.group(0) for group in groups[start:end])
                if _is_card(digits):
                    yield (
                        run.start() + groups[start].start(),
                        run.start() + groups[end - 1].end(),
                        f"[card ending {digits[-4:]}]",
                    )
                    start = end
                    break
            else:
                start += 1


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ibans(folded: str) -> Iterator[Span]:
    for match in _IBAN.finditer(folded):
        # The pattern may have run on into a following upper-case word ("... 32 OK"): drop trailing
        # groups until the check holds.
        parts = match.group(0).split(" ")
        for end in range(len(parts), 0, -1):
            compact = "".join(parts[:end])
            if _iban_ok(compact):
                length = len(" ".join(parts[:end]))
                yield match.start(), match.start() + length, f"[IBAN ending {compact[-4:]}]"
                break


def _codes(folded: str) -> Iterator[Span]:
    for match in _CVC.finditer(folded):
        yield match.start(3), match.end(3), "[hidden]"
    for match in _PASSWORD.finditer(folded):
        yield match.start(3), match.end(3), "[hidden]"


def _apply(text: str, find: Callable[[str], Iterator[Span]]) -> str:
    folded, origin = _fold(text)
    spans = sorted(find(folded), reverse=True)
    last = len(text) + 1
    for start, end, replacement in spans:
        first, after = origin[start], origin[end - 1] + 1
        if after > last:
            continue  # overlaps a span already replaced
        text = text[:first] + replacement + text[after:]
        last = first
    return text


def mask_secrets(text: str) -> str:
    """The text with card numbers, IBANs, security codes and passwords replaced by placeholders.

    Mask before cutting a text to length, so a cut cannot leave part of a number in clear."""
    for find in (_ibans, _cards, _codes):
        text = _apply(text, find)
    return text
