"""Masking of secrets typed by visitors: what is hidden, what must stay readable, and that neither the
database nor the provider ever sees the secret."""

from __future__ import annotations

import pytest

from chatbot.masking import mask_secrets
from chatbot.models import Message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111", "[card ending 1111]"),
        ("4111-1111-1111-1111", "[card ending 1111]"),
        ("card:4111111111111111.", "card:[card ending 1111]."),
        ("5500 0000 0000 0004 please", "[card ending 0004] please"),
        ("amex 3782 822463 10005", "amex [card ending 0005]"),
        ("6011000990139424", "[card ending 9424]"),
        ("unionpay 6200000000000005", "unionpay [card ending 0005]"),
        ("two: 4111111111111111 and 5500000000000004", "two: [card ending 1111] and [card ending 0004]"),
        ("卡号4111111111111111谢谢", "卡号[card ending 1111]谢谢"),
    ],
)
def test_card_numbers_are_masked(text, expected):
    assert mask_secrets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Phone numbers, including ones whose digits happen to pass the Luhn check.
        "+86 138 0013 8002",
        "0086 138 0013 8002",
        "call me on +1 415 555 2671 006",
        "+44 20 7946 0958",
        "13800138000",
        "手机 138-0013-8002",
        # Order numbers, dates, amounts, a card number with a typo.
        "order 1234567890123",
        "order #200001 placed 2026-11-27",
        "4111 1111 1111 1112",
        "total 1,234,567.89",
        "tracking 1Z999AA10123456784",
    ],
)
def test_numbers_that_are_not_cards_stay_readable(text):
    assert mask_secrets(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GB82 WEST 1234 5698 7654 32", "[IBAN ending 5432]"),
        ("iban GB82WEST12345698765432 thanks", "iban [IBAN ending 5432] thanks"),
        ("DE89 3704 0044 0532 0130 00 OK", "[IBAN ending 3000] OK"),
        ("GB82 WEST 1234 5698 7654 33", "GB82 WEST 1234 5698 7654 33"),
        ("see ISO 3166 codes", "see ISO 3166 codes"),
    ],
)
def test_ibans(text, expected):
    assert mask_secrets(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cvv 123", "cvv [hidden]"),
        ("CVC: 4321", "CVC: [hidden]"),
        ("安全码 123", "安全码 [hidden]"),
        ("my password is hunter2", "my password is [hidden]"),
        ("pwd=abc", "pwd=[hidden]"),
        ("密码是abc123", "密码是[hidden]"),
        ("I forgot my password", "I forgot my password"),
    ],
)
def test_codes_and_passwords(text, expected):
    assert mask_secrets(text) == expected


def test_text_without_secrets_is_unchanged():
    for text in ["", "hello", "你好，请问有货吗？", "size 42 boots, 2 pairs"]:
        assert mask_secrets(text) == text


def test_neither_the_database_nor_the_provider_sees_the_secret(db, chat, recording):
    chat.ask("pay with 4111 1111 1111 1111, iban GB82 WEST 1234 5698 7654 32")
    chat.ask("did it work?")
    stored = Message.objects.get(role="user", text__startswith="pay").text
    assert stored == "pay with [card ending 1111], iban [IBAN ending 5432]"
    first, second = recording.calls
    assert first.text == stored
    assert all("4111 1111" not in text and "WEST 1234" not in text for _role, text in second.history)


# -- any separator, any digits, any wording -----------------------------------------------------------

CARD = "4111111111111111"
SEPARATORS = [
    " ",
    "-",
    ".",
    "/",
    "\t",
    "\n",
    "\u00a0",
    "\u2009",
    "\u3000",
    " - ",
    ". ",
    "_",
    "|",
    "\u2013",
    "·",
    "\r\n",
    "  /  ",
    "\uff0d",
    "\u2014",
    ":",
    ",",
]


def _grouped(number: str, separator: str, sizes: tuple[int, ...] = (4, 4, 4, 4)) -> str:
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    return separator.join(groups)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_card_numbers_with_any_separator_between_groups_are_masked(separator):
    for number, sizes in ((CARD, (4, 4, 4, 4)), ("378282246310005", (4, 6, 5)), ("5500000000000004", (4, 4, 4, 4))):
        typed = f"my card is {_grouped(number, separator, sizes)} thanks"
        assert mask_secrets(typed) == f"my card is [card ending {number[-4:]}] thanks", typed


def _digits_of(zero: str, number: str = CARD) -> str:
    return "".join(chr(ord(zero) + int(digit)) for digit in number)


@pytest.mark.parametrize(
    "zero",
    ["\uff10", "\u0660", "\u06f0", "\u0966", "\u09e6", "\u0e50", "\U0001d7ce", "\U0001d7ec"],
    ids=["full-width", "arabic-indic", "persian", "devanagari", "bengali", "thai", "math-bold", "math-sans-bold"],
)
def test_card_numbers_in_other_digits_are_masked(zero):
    typed = _digits_of(zero)
    assert mask_secrets(f"卡号：{typed}，谢谢") == "卡号：[card ending 1111]，谢谢"
    spaced = " ".join(typed[at : at + 4] for at in range(0, 16, 4))
    assert mask_secrets(spaced) == "[card ending 1111]"


def test_only_the_secret_changes_the_rest_is_stored_as_typed():
    typed = "ＯＫ，卡号 4111\u00a01111\u00a01111\u00a01111。全角！"
    assert mask_secrets(typed) == "ＯＫ，卡号 [card ending 1111]。全角！"


def test_a_card_after_an_order_number_in_the_same_run_is_masked():
    assert mask_secrets("order 200001 4111 1111 1111 1111") == "order 200001 [card ending 1111]"
    assert mask_secrets("4111111111111111, 5500000000000004") == "[card ending 1111], [card ending 0004]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my security code is 737", "my security code is [hidden]"),
        ("My Security Code: 737.", "My Security Code: [hidden]."),
        ("the CVV is 0123", "the CVV is [hidden]"),
        ("cvv2=123", "cvv2=[hidden]"),
        ("card verification code is 456", "card verification code is [hidden]"),
        ("sec code 321", "sec code [hidden]"),
        ("the verification number: 8765", "the verification number: [hidden]"),
        ("ＣＶＶ　１２３", "ＣＶＶ　[hidden]"),
        ("安全码是737", "安全码是[hidden]"),
        ("我的密码是abc123", "我的密码是[hidden]"),
        ("a cider of 500 ml", "a cider of 500 ml"),
    ],
)
def test_security_codes_in_a_sentence(text, expected):
    assert mask_secrets(text) == expected


def test_masking_twice_changes_nothing_more():
    once = mask_secrets("4111 1111 1111 1111, cvv 123, GB82 WEST 1234 5698 7654 32")
    assert mask_secrets(once) == once
