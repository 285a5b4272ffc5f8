"""Stream mode in real Chromium: the bundled Stream client connects to a local Stream fake (REST and
websocket), the reply grows in the chat window from channel events, and stop works."""

# The browser fixtures are imported from tests/browser/conftest.py and used as arguments.
# ruff: noqa: F811

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from chatbot.models import Message
from tests.browser.conftest import Pages, browser, chatbot_conf, pages, shop  # noqa: F401 - fixtures
from tests.browser.widget import Chat
from tests.fakes.stream_server import SCRIPT, FakeStream, assistant_upserted, stream_settings

# Playwright's sync API runs an event loop in the test thread; the ORM calls here are safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = pytest.mark.browser


@pytest.fixture
def stream_shop(settings, shop, task_worker):
    # The replies are written by a worker, as in production: the browser's requests never wait for them.
    from django.core.cache import cache

    from chatbot.transports.stream.bootstrap import on_first_request

    with FakeStream() as fake:
        cache.clear()  # a new app: nothing an earlier fake on the same port was told is remembered
        SCRIPT.reset(chunks=["Yes, ", "we sell ", "**Longjing** ", "green tea."])
        settings.CHATBOT = stream_settings(fake)
        on_first_request()
        fake.wait_for(lambda: assistant_upserted(fake))
        yield fake
        assert fake.problems == []


def test_reply_streams_over_the_stream_websocket(stream_shop, pages):
    page = pages.open("/")
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    chat = Chat(page).open()
    chat.ask("Do you sell tea?")
    expect(chat.last_reply()).to_contain_text("Yes, we sell Longjing green tea.")
    chat.wait_until_idle()
    assert any(url.endswith("/static/chatbot/stream/chat-stream.js") for url in requested)
    # The browser connected as the session's visitor and watched the visitor's channel.
    visitor = [c for c in stream_shop.ops("query channel") if c.user_id]
    assert visitor and visitor[0].user_id.startswith("shop-guest-")
    assert visitor[0].query.get("connection_id")
    reply = Message.objects.get(role="assistant")
    assert reply.status == "done"
    assert stream_shop.messages[str(reply.public_id)]["text"] == "Yes, we sell **Longjing** green tea."
    expect(chat.questions).to_have_count(1)
    # Reopening the page shows the same conversation from the shop's history, nothing twice.
    page.reload()
    again = Chat(page).open()
    expect(again.replies).to_have_count(1)
    expect(again.questions).to_have_count(1)


def test_stop_in_stream_mode(stream_shop, pages, chatbot_conf):
    chatbot_conf(PROVIDER="tests.fakes.stream_server.GatedProvider")
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("Tell me everything")
    expect(chat.last_reply()).to_contain_text("Yes,")
    assert SCRIPT.waiting.wait(15)
    chat.dialog.get_by_role("button", name="Stop the reply").click()
    stream_shop.wait_for(lambda: Message.objects.filter(stop_requested=True).exists())
    SCRIPT.release.set()
    chat.wait_until_idle()
    reply = Message.objects.get(role="assistant")
    stream_shop.wait_for(lambda: stream_shop.has_event("ai_indicator.clear", str(reply.public_id)))
    reply.refresh_from_db()
    assert (reply.status, reply.text) == ("stopped", "Yes, ")


def test_stream_down_shows_a_clear_message_and_keeps_the_text(stream_shop, pages):
    page = pages.open("/")
    chat = Chat(page).open()
    stream_shop.fail("send message", 503)
    chat.ask("Where is my parcel?")
    expect(chat.dialog).to_contain_text("unavailable right now")
    expect(chat.box).to_have_value("Where is my parcel?")


def test_unread_badge_from_stream_while_the_window_is_closed(stream_shop, pages):
    from chatbot.transports.stream import get_client
    from chatbot.transports.stream.ids import assistant_id

    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("Hello")
    expect(chat.last_reply()).to_contain_text("green tea.")
    chat.wait_until_idle()
    chat.page.keyboard.press("Escape")
    expect(chat.dialog).to_be_hidden()
    # Someone else writes in the channel (a member of staff through Stream, say) while it is closed.
    channel_id = next(iter(stream_shop.channels.values()))["id"]
    get_client().channel("messaging", channel_id).send_message({"text": "Anything else?"}, assistant_id())
    expect(chat.badge).to_have_text("1")


def test_waiting_for_a_person_shows_in_the_header_in_stream_mode(stream_shop, pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.dialog.get_by_role("button", name="Talk to a human").click()
    expect(chat.last_reply()).to_contain_text("team")
    expect(chat.dialog.get_by_role("status").filter(has_text="Waiting for a person")).to_contain_text(
        "We usually reply within"
    )
    expect(chat.dialog.get_by_role("textbox", name="Your email, for our reply")).to_be_visible()
    # The acknowledgement is a notice: the history says so and its thumbs go.
    expect(chat.last_reply().get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
