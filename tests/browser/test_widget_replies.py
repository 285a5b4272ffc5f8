"""How a reply ends: follow-up questions after every answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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

