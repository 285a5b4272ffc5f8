"""Secrets a visitor types (card numbers, security codes) are masked before they are stored or sent on.

A card number is 13 to 19 digits, optionally grouped by spaces or dashes, that passes the Luhn check;
order numbers and phone numbers rarely do, and we would rather mask a phone number than keep a card.
"""

from __future__ import annotations

import re

_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_CVC = re.compile(r"(?i)\b(cvc|cvv|cvv2|csc|security code|安全码)(\s*[:：=]?\s*)(\d{3,4})\b")
_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd|密码)(\s*(?:is)?\s*[:：=]?\s*)(\S+)")


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
    if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        return raw
    return f"[card ending {digits[-4:]}]"


def mask_secrets(text: str) -> str:
    """The text with card numbers, security codes and passwords replaced by placeholders."""
    text = _CARD.sub(_mask_card, text)
    text = _CVC.sub(lambda m: f"{m.group(1)}{m.group(2)}[hidden]", text)
    text = _PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}[hidden]", text)
    return text
