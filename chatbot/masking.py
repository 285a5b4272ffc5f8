"""Secrets a visitor types (card numbers, security codes) are masked before they are stored or sent on.

A card number is 13 to 19 digits, optionally grouped by spaces or dashes, that starts with 2 to 6 (every
major scheme does) and passes the Luhn check. That leaves phone numbers alone, even the one in ten that
passes Luhn: written internationally they start with "+" or "00", nationally with "0" or "1" (Chinese
mobiles), never with 2 to 6 at 13 digits or more. IBANs (two letters, two check digits, up to 30 more)
are masked when their ISO 7064 mod-97 check holds.
"""

from __future__ import annotations

import re

_CARD = re.compile(r"(?<![\d+-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CVC = re.compile(r"(?i)\b(cvc|cvv|cvv2|csc|security code|安全码)(\s*[:：=]?\s*)(\d{3,4})\b")
_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd|密码)(\s*(?:is|是)?\s*[:：=]?\s*)(\S+)")


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


def _mask_card(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or not _luhn_ok(digits):
        return raw
    return f"[card ending {digits[-4:]}]"


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _mask_iban(match: re.Match[str]) -> str:
    raw = match.group(0)
    # The pattern may have run on into a following upper-case word ("... 32 OK"): drop trailing groups
    # until the check holds.
    parts = raw.split(" ")
    for end in range(len(parts), 0, -1):
        compact = "".join(parts[:end])
        if _iban_ok(compact):
            rest = " ".join(parts[end:])
            return f"[IBAN ending {compact[-4:]}]" + (f" {rest}" if rest else "")
    return raw


def mask_secrets(text: str) -> str:
    """The text with card numbers, IBANs, security codes and passwords replaced by placeholders."""
    text = _IBAN.sub(_mask_iban, text)
    text = _CARD.sub(_mask_card, text)
    text = _CVC.sub(lambda m: f"{m.group(1)}{m.group(2)}[hidden]", text)
    text = _PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}[hidden]", text)
    return text
