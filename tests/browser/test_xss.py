"""Hostile text in the real widget: markup and script URLs in what the visitor types, in what the
model answers (streamed and reloaded from history), in suggestion chips and in product cards must all
render inert in Chromium: no element made from them, no script run, no ``javascript:`` link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, ProviderEvent, Suggestions
from tests.browser.widget import Chat

pytestmark = pytest.mark.browser

ATTACKS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    "[click me](javascript:window.__pwned=3)",
    "[data link](data:text/html,<script>window.__pwned=4</script>)",
    '<a href="javascript:window.__pwned=5">html link</a>',
    '"><svg onload="window.__pwned=6">',
    '<iframe src="javascript:window.__pwned=7"></iframe>',
    '![pic](x" onerror="window.__pwned=8)',
]
ANSWER = "Here you go:\n\n" + "\n\n".join(ATTACKS)


class HostileProvider(Provider):
    """A model that was talked into answering with markup, script links and poisoned cards."""

    name = "hostile"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        # Piece by piece, so a tag is split across deltas as it would be from a real model.
        for start in range(0, len(ANSWER), 7):
            yield Delta(ANSWER[start : start + 7])
        yield Suggestions(['<img src=x onerror="window.__pwned=9">', "javascript:window.__pwned=10"])
        yield Products(
            [
                {
                    "id": "1",
                    "title": '<img src=x onerror="window.__pwned=11">',
                    "url": "javascript:window.__pwned=12",
                    "image": 'x" onerror="window.__pwned=13',
                    "price": "<b>£1</b>",
                    "availability": "<script>window.__pwned=14</script>",
                }
            ]
        )
        yield Done()


def assert_inert(page, scope) -> None:
    expect(scope.locator("img[onerror], script, iframe, svg[onload], [onload], [onerror]")).to_have_count(0)
    hrefs = scope.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href') || '')")
    assert not [h for h in hrefs if h.strip().lower().startswith(("javascript:", "data:", "vbscript:"))], hrefs
    assert page.evaluate("window.__pwned") is None


def test_markup_in_model_answers_and_cards_is_inert_live_and_after_reload(pages, chatbot_conf):
    chatbot_conf(PROVIDER="tests.browser.test_xss.HostileProvider")
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("what do you have?")
    chat.wait_until_idle()
    reply = chat.last_reply()
    expect(reply).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(reply).to_contain_text("<script>window.__pwned=2</script>")
    assert_inert(page, chat.dialog)

    page.reload()
    chat = Chat(page).open()
    expect(chat.last_reply()).to_contain_text("<script>window.__pwned=2</script>")
    assert_inert(page, chat.dialog)


def test_markup_typed_by_the_visitor_is_shown_as_text(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    chat.ask(payload)
    expect(chat.questions.last).to_contain_text(payload)
    chat.wait_until_idle()
    assert_inert(page, chat.dialog)
    page.reload()
    chat = Chat(page).open()
    expect(chat.questions.last).to_contain_text(payload)
    assert_inert(page, chat.dialog)


def test_a_visitor_flooding_the_chat_is_told_kindly_to_wait(pages, chatbot_conf):
    from django.core.cache import cache

    cache.clear()
    chatbot_conf(RATE_LIMITS="visitor=1/m,ip=100/m")
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("first question")
    chat.wait_until_idle()
    chat.ask("second question")
    alert = chat.dialog.get_by_role("alert")
    expect(alert).to_contain_text("too quickly")
    # The text is kept for sending again later.
    expect(chat.box).to_have_value("second question")
    cache.clear()
