"""How a reply ends: follow-up questions after every answer, and a visible note when it was stopped."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chatbot.models import Message
from tests.browser.providers import FIRST_TEXT
from tests.browser.widget import Chat

pytestmark = pytest.mark.browser


def follow_ups(chat: Chat):
    return chat.dialog.get_by_role("group", name="Suggested questions").get_by_role("button")


def test_follow_up_questions_after_every_answer_not_only_at_the_start(pages, chatbot_conf):
    chatbot_conf(PROVIDER="tests.browser.providers.FollowUpProvider")
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("how much are the hiking boots?")
    chat.wait_until_idle()
    expect(follow_ups(chat)).to_have_text(["Cheaper options", "Shipping to France"])
    follow_ups(chat).first.focus()
    page.keyboard.press("Enter")
    expect(chat.questions.last.locator(".body")).to_have_text("Cheaper options")
    # The chips go while the answer is written; the keyboard stays in the window.
    expect(chat.box).to_be_focused()
    expect(chat.last_reply().locator(".body")).to_have_text("The Trail Running Shoes are £89.00.")
    chat.wait_until_idle()
    # The second answer's own follow-ups replace the first ones.
    expect(follow_ups(chat)).to_have_text(["Shipping to France"])
    # And they are still offered on the next page.
    page.goto("/returns/")
    expect(chat.dialog).to_be_visible()
    expect(follow_ups(chat)).to_have_text(["Shipping to France"])


def test_a_stopped_reply_ends_with_a_visible_note_also_on_the_next_page(pages, gate):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("do you have hiking boots?")
    reply = chat.last_reply()
    expect(reply.locator(".body")).to_have_text(FIRST_TEXT.strip())
    # The server has registered the stop (its answer is in) before the provider may send more.
    with page.expect_response(lambda response: response.url.endswith("/stop")):
        chat.dialog.get_by_role("button", name="Stop the reply").click()
    chat.wait_until_idle()
    note = reply.get_by_text("Reply stopped.")
    expect(note).to_be_visible()
    assert note.evaluate("n => n === n.parentNode.lastElementChild"), "the note ends the reply"
    gate.release.set()
    assert gate.stored.wait(timeout=15)
    stored = Message.objects.filter(role=Message.Role.ASSISTANT).latest("created", "id")
    assert stored.status == Message.Status.STOPPED

    page.goto("/returns/")
    reply = chat.last_reply()
    expect(reply.locator(".body")).to_have_text(FIRST_TEXT.strip())
    note = reply.get_by_text("Reply stopped.")
    expect(note).to_be_visible()
    assert note.evaluate("n => n === n.parentNode.lastElementChild")
    expect(reply.get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
