"""axe-core (the engine behind Lighthouse's accessibility audit) on the widget in each of its states.

Only the widget is scanned (its host element and its shadow tree); the storefront around it is Oscar's.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.widget import HOST_JS, Chat

pytestmark = pytest.mark.browser

WIDGET = "#shop-chatbot"


def violations(page: Page) -> list[str]:
    """Each axe violation in the widget as "rule: target (summary)", for a readable failure."""
    results = Axe().run(page, context=WIDGET, options={"resultTypes": ["violations", "passes"]}).response
    # A scan that never reached the shadow tree would pass whatever it holds: make sure it did.
    inside = [node for rule in results["passes"] for node in rule["nodes"] if isinstance(node["target"][0], list)]
    assert len(inside) >= 5, "axe did not look inside the widget's shadow root"
    found = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            found.append(f"{violation['id']}: {node['target']} ({node.get('failureSummary', '')[:160]})")
    return found


def test_the_closed_launcher_passes_axe(pages):
    page = pages.open("/")
    assert violations(page) == []


def test_the_open_chat_with_an_answer_passes_axe(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    assert violations(page) == []
    chat.ask("do you have hiking boots?")
    chat.wait_until_idle()
    assert violations(page) == []


def test_the_dark_theme_passes_axe_including_contrast(pages):
    page = pages.open("/", color_scheme="dark")
    chat = Chat(page).open()
    chat.ask("do you have hiking boots?")
    chat.wait_until_idle()
    assert violations(page) == []


def test_the_phone_layout_passes_axe(pages):
    page = pages.open("/", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    chat = Chat(page).open()
    chat.ask("do you have hiking boots?")
    chat.wait_until_idle()
    assert violations(page) == []


def test_the_scan_catches_a_broken_widget(pages):
    """The check itself: a launcher stripped of its name in the page is reported."""
    page = pages.open("/")
    page.evaluate(
        f"""() => {{
            const launcher = {HOST_JS}.shadowRoot.querySelector('.launcher');
            launcher.removeAttribute('aria-label');
            launcher.textContent = '';
        }}"""
    )
    assert any(found.startswith("button-name:") for found in violations(page))


def test_product_cards_with_their_buttons_pass_axe(pages, chatbot_conf):
    chatbot_conf(PROVIDER="tests.browser.providers.ShelfProvider")
    for options in ({}, {"color_scheme": "dark", "viewport": {"width": 390, "height": 844}, "is_mobile": True}):
        page = pages.open("/", **options)
        chat = Chat(page).open()
        chat.ask("something for the trail?")
        chat.wait_until_idle()
        assert violations(page) == []


def test_the_chat_reopened_on_the_next_page_passes_axe(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("do you have hiking boots?")
    chat.wait_until_idle()
    page.goto("/returns/")
    expect(chat.dialog).to_be_visible()
    assert violations(page) == []


def test_the_launcher_with_its_label_passes_axe(pages, chatbot_conf):
    chatbot_conf(WIDGET={"show_label": True})
    page = pages.open("/")
    expect(Chat(page).launcher).to_be_visible()
    assert violations(page) == []


def test_waiting_for_a_person_with_the_email_form_passes_axe(pages):
    for options in ({}, {"color_scheme": "dark", "viewport": {"width": 390, "height": 844}, "is_mobile": True}):
        page = pages.open("/", **options)
        chat = Chat(page).open()
        chat.dialog.get_by_role("button", name="Talk to a human").click()
        email = chat.dialog.get_by_role("textbox", name="Your email, for our reply")
        expect(email).to_be_visible()
        assert violations(page) == []
        email.fill("nope")
        email.press("Enter")
        expect(email).to_have_attribute("aria-invalid", "true")
        assert violations(page) == []
        email.fill("bo@example.com")
        email.press("Enter")
        expect(chat.dialog.get_by_text("We'll reply to bo@example.com.")).to_be_visible()
        assert violations(page) == []
    # A staff reply with its author's name and initial.
    from django.contrib.auth import get_user_model

    from chatbot.models import Conversation
    from chatbot.staff import actions

    sam = get_user_model().objects.create_user("sam", "sam@shop.example", "pw", first_name="Sam")
    actions.staff_reply(Conversation.objects.latest("id"), sam, "Hi, Sam here.")
    expect(chat.log.locator(".msg.staff")).to_have_count(1)
    assert violations(page) == []
