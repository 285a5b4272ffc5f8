"""The widget's own words follow the language the visitor writes in, as the assistant's answers do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.widget import CHINESE, Chat

pytestmark = pytest.mark.browser


def test_a_visitor_who_writes_chinese_on_an_english_page_gets_chinese_labels_from_then_on(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    expect(chat.dialog.get_by_role("button", name="Send", exact=True)).to_be_visible()
    chat.ask("有登山靴吗？")
    # The window's words switch as the question is sent.
    zh = Chat(page, **CHINESE)
    expect(zh.dialog).to_be_visible()
    expect(zh.last_reply()).to_contain_text(re.compile("靴"))
    zh.wait_until_idle()
    expect(zh.box).to_be_focused()
    expect(zh.dialog.get_by_role("button", name="转人工")).to_be_visible()
    expect(zh.dialog.get_by_role("button", name="关闭聊天")).to_be_visible()
    expect(zh.launcher).to_have_attribute("aria-expanded", "true")
    reply = zh.last_reply()
    expect(reply.get_by_role("button", name="有帮助", exact=True)).to_be_visible()
    cards = reply.get_by_role("list", name="商品")
    expect(cards.get_by_role("link", name=re.compile("^查看 "))).not_to_have_count(0)
    expect(cards.get_by_role("button", name=re.compile("^添加至购物车 "))).not_to_have_count(0)
    expect(chat.send).to_have_count(0)

    # The next page is still English, the widget stays Chinese.
    page.goto("/returns/")
    expect(zh.dialog).to_be_visible()
    expect(zh.launcher).to_be_visible()
    zh.wait_until_idle()
    expect(zh.box).to_have_attribute("placeholder", re.compile("[\u4e00-\u9fff]"))

    # Writing English again brings the page's language back, as the answers do.
    zh.ask("what is your returns policy?")
    chat = Chat(page)
    expect(chat.dialog).to_be_visible()
    chat.wait_until_idle()
    expect(chat.last_reply()).to_contain_text(re.compile("return", re.I))
    expect(chat.box).to_be_visible()


def test_the_launcher_of_a_closed_chat_speaks_the_visitors_language_on_the_next_page(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("退货政策是什么？")
    zh = Chat(page, **CHINESE)
    zh.wait_until_idle()
    page.keyboard.press("Escape")
    expect(zh.dialog).to_be_hidden()
    page.goto("/catalogue/")
    expect(zh.launcher).to_be_visible()
    expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
    zh.open()
    zh.wait_until_idle()
