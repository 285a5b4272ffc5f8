"""The chat stays where the visitor left it across the pages of a tab, and opens and closes smoothly."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.widget import HOST_JS, Chat

pytestmark = pytest.mark.browser

# Records, before the first frame in which the window is painted on a page, what that frame shows;
# and every animation the widget starts (animation events stay inside the shadow root).
WATCH_JS = """
window.__firstFrame = null;
window.__animations = [];
document.addEventListener("DOMContentLoaded", () => {
  const host = document.getElementById("shop-chatbot");
  host.shadowRoot.addEventListener("animationstart", e => {
    if (e.target.classList.contains("win")) window.__animations.push(e.animationName);
  }, true);
  (function frame() {
    const win = host.shadowRoot.querySelector(".win");
    if (win && !win.hidden) {
      const launcher = host.shadowRoot.querySelector(".launcher");
      window.__firstFrame = {
        questions: win.querySelectorAll(".msg.user").length,
        scroll: win.querySelector(".log").scrollTop,
        draft: win.querySelector("textarea").value,
        animation: getComputedStyle(win).animationName,
        launcher: launcher.hidden ? "hidden" : launcher.getAttribute("aria-expanded"),
      };
      return;
    }
    requestAnimationFrame(frame);
  })();
});
"""


def watch(page: Page) -> None:
    page.add_init_script(WATCH_JS)


def test_the_chat_reopens_on_the_next_page_with_its_scroll_position_and_draft(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    for question in ["do you have hiking boots?", "what is your returns policy?", "do you have a teapot?"]:
        chat.ask(question)
        chat.wait_until_idle()
    assert chat.log.evaluate("el => el.scrollHeight > el.clientHeight + 100"), "the log needs to scroll"
    chat.log.evaluate("el => { el.scrollTop = 60; }")
    chat.box.fill("and do you ship to Fr")
    watch(page)

    page.goto("/returns/")
    chat = Chat(page)
    expect(chat.dialog).to_be_visible()
    expect(chat.box).to_have_value("and do you ship to Fr")
    expect(chat.box).to_be_focused()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    assert chat.log.evaluate("el => el.scrollTop") == 60
    # Its very first frame already showed the conversation where it was, with no animation, and
    # the button showed the cross from the first frame.
    assert page.evaluate("window.__firstFrame") == {
        "questions": 3,
        "scroll": 60,
        "draft": "and do you ship to Fr",
        "animation": "none",
        "launcher": "true",
    }
    assert page.evaluate("window.__animations") == []

    # Sending clears the draft for the next page too; closing is remembered as well.
    chat.ask("thanks")
    chat.wait_until_idle()
    chat.launcher.click()
    expect(chat.dialog).to_be_hidden()
    page.goto("/catalogue/")
    expect(chat.launcher).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    chat.open()
    expect(chat.box).to_have_value("")


def test_a_new_tab_starts_with_the_chat_closed(pages):
    page = pages.open("/")
    Chat(page).open()
    other = page.context.new_page()
    pages.watch(other)
    other.goto("/")
    chat = Chat(other)
    expect(chat.launcher).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    assert other.evaluate(f"() => !{HOST_JS}.shadowRoot.querySelector('.win:not([hidden])')")


def test_the_launcher_closes_the_chat_while_it_is_open(pages):
    page = pages.open("/")
    watch(page)
    page.reload()
    chat = Chat(page)
    chat.open()
    cross = page.locator("#shop-chatbot .launcher .x")
    expect(cross).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    # The same button, with the same name: its state says the chat is open.
    chat.launcher.click()
    expect(chat.dialog).to_be_hidden()
    expect(cross).to_be_hidden()
    assert chat.focused() == "launcher"
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    # Opening and closing were both animated.
    assert page.evaluate("window.__animations") == ["scb-in", "scb-in"]


def test_no_animation_under_reduced_motion(pages):
    page = pages.open("/", reduced_motion="reduce")
    watch(page)
    page.reload()
    chat = Chat(page).open()
    page.keyboard.press("Escape")
    expect(chat.dialog).to_be_hidden()
    assert chat.focused() == "launcher"
    chat.open()
    assert page.evaluate("window.__animations") == []
    assert page.evaluate("window.__firstFrame.animation") == "none"
