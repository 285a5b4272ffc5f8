"""Product cards a shopper can act on: image, price, stock wording, View and Add to basket."""

from __future__ import annotations

import re

import pytest
from oscar.core.loading import get_model
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.providers import PLACEHOLDER_IMAGE
from tests.browser.widget import Chat

pytestmark = pytest.mark.browser

SHELF = "tests.browser.providers.ShelfProvider"


def product_cards(chat: Chat):
    return chat.last_reply().get_by_role("list", name="Products").get_by_role("listitem")


def ask_the_shelf(pages) -> Chat:
    """Open the chat and get the three cards of the shelf provider."""
    chat = Chat(pages.open("/")).open()
    chat.ask("something for the trail?")
    chat.wait_until_idle()
    expect(product_cards(chat)).to_have_count(3)
    return chat


def test_add_to_basket_from_a_card_posts_oscars_form_and_the_chat_stays_open(pages):
    page = pages.open("/catalogue/")
    chat = Chat(page).open()
    chat.ask("do you have hiking boots?")
    chat.wait_until_idle()
    card = product_cards(chat).filter(has=page.get_by_text("Hiking Boots", exact=True))
    expect(card).to_have_count(1)
    expect(card).to_contain_text("£135.00")
    expect(card).to_contain_text("In stock")
    boots = get_model("catalogue", "Product").objects.get(title="Hiking Boots")
    view = card.get_by_role("link", name="View Hiking Boots")
    expect(view).to_have_attribute("href", re.compile(re.escape(boots.get_absolute_url()) + "$"))

    card.get_by_role("button", name="Add to basket Hiking Boots").click()
    # The shop's own confirmation on the page the visitor was on, and the chat where it was.
    expect(page.get_by_text(re.compile("Hiking Boots has been added to your basket"))).to_be_visible()
    assert page.url.endswith("/catalogue/")
    expect(chat.dialog).to_be_visible()
    expect(chat.questions).to_have_count(1)
    lines = get_model("basket", "Line").objects.filter(product=boots)
    assert [line.quantity for line in lines] == [1]


def test_a_card_has_the_products_image_price_and_the_texts_stock_wording(pages, chatbot_conf):
    chatbot_conf(PROVIDER=SHELF)
    cards = product_cards(ask_the_shelf(pages))
    first = cards.nth(0)
    expect(first.locator("img")).to_have_attribute("src", re.compile(re.escape(PLACEHOLDER_IMAGE) + "$"))
    assert first.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    expect(first).to_contain_text("£129.00")
    expect(first).to_contain_text("Only 2 left")
    # Out of stock: the shopper can look, not buy.
    socks = cards.nth(2)
    expect(socks).to_contain_text("Out of stock")
    expect(socks.get_by_role("link", name="View Wool Hiking Socks")).to_be_visible()
    expect(socks.get_by_role("button")).to_have_count(0)
    expect(cards.nth(1).get_by_role("button", name="Add to basket Trail Running Shoes")).to_be_visible()


def test_several_cards_scroll_sideways_on_a_phone(pages, chatbot_conf):
    chatbot_conf(PROVIDER=SHELF)
    page = pages.open("/", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    chat = Chat(page)
    chat.launcher.tap()
    chat.ask("something for the trail?")
    chat.wait_until_idle()
    shelf = chat.last_reply().get_by_role("list", name="Products")
    expect(product_cards(chat)).to_have_count(3)
    # Read in one go: the conversation may still be scrolling to the reply, and boxes read one after
    # the other would be taken at different scroll positions.
    tops = shelf.evaluate(
        "el => [...el.querySelectorAll('[role=listitem], li')].map(c => c.getBoundingClientRect().top)"
    )
    assert len(set(tops[:3])) == 1, f"the cards sit side by side: {tops}"
    assert shelf.bounding_box()["height"] < 844 / 2, "the cards leave room for the conversation"
    assert shelf.evaluate("el => el.scrollWidth > el.clientWidth"), "the row scrolls sideways"
    screenshot(page, "widget-cards-phone")
    # The last card scrolls into view when its button takes focus.
    socks = product_cards(chat).nth(2).get_by_role("link", name="View Wool Hiking Socks")
    socks.focus()
    expect(socks).to_be_in_viewport()


def test_a_shop_without_an_adapter_shows_view_only(pages, chatbot_conf):
    chatbot_conf(PROVIDER=SHELF, SHOP_ADAPTER="none")
    cards = product_cards(ask_the_shelf(pages))
    expect(cards.get_by_role("link", name=re.compile("^View "))).to_have_count(3)
    expect(cards.get_by_role("button")).to_have_count(0)
