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
