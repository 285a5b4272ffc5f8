"""Which language a text is written in and a reply is answered in: one helper for the whole app."""

from __future__ import annotations

import pytest
from django.utils import translation

from chatbot.language import (
    CHINESE,
    ENGLISH,
    answer_language,
    has_chinese,
    is_chinese,
    mostly_chinese,
    reply_language,
    written_language,
)


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("Do you sell tents?", False),
        ("有帐篷吗", True),
        ("订单100007到哪了", True),
        ("㐀", True),
        ("﨑", True),
        ("Café £20 — ok?", False),
        ("", False),
    ],
)
def test_chinese_is_any_han_character(text, chinese):
    assert has_chinese(text) is chinese
    assert written_language(text) == (CHINESE if chinese else ENGLISH)


def test_a_chinese_question_is_answered_in_chinese_on_an_english_page():
    with translation.override("en"):
        assert answer_language("这个防水吗？") == CHINESE
        assert answer_language("Is this waterproof?") == "en"
    with translation.override("zh-hans"):
        assert answer_language("Is this waterproof?") == "zh-hans"


@pytest.mark.parametrize("code", ["zh-hans", "zh-Hans", "zh_Hans", "zh-cn", "zh"])
def test_every_chinese_language_code_replies_in_simplified_chinese(code):
    assert is_chinese(code) and reply_language(code) == CHINESE


@pytest.mark.parametrize("code", ["en", "en-gb", "de", ""])
def test_other_language_codes_reply_in_english(code):
    assert not is_chinese(code) and reply_language(code) == ENGLISH


def test_a_chinese_sentence_naming_an_english_product_is_mostly_chinese():
    assert mostly_chinese("Trail Running Shoes 有哪些尺码？这双鞋防水吗？适合下雨天跑步吗？")
    assert not mostly_chinese("The Trail Running Shoes (跑鞋) come in sizes 4-12.")
