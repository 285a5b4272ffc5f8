"""The built-in assistant in a shop that is not Oscar: everything goes through the adapter interface,
whether the shop lists its catalogue (``catalogue()``) or can only search it (``search_products``)."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.shop.base import ProductInfo
from tests.conftest import reply_text
from tests.fakes.shop import PRODUCTS, FakeShop

pytestmark = pytest.mark.django_db


class ListedShop(FakeShop):
    """A shop that lists its catalogue, versioned by what it holds."""

    def catalogue(self) -> list[ProductInfo]:
        self.calls.append(("catalogue",))
        return list(PRODUCTS)

    def catalogue_version(self) -> Any:
        return tuple((p.id, p.price, p.stock) for p in PRODUCTS)


@pytest.fixture(params=["tests.fakes.shop.FakeShop", "tests.test_local_other_shops.ListedShop"])
def shop(request, settings):
    settings.CHATBOT = {**settings.CHATBOT, "SHOP_ADAPTER": request.param, "PROVIDER": "local"}
    return request.param


def test_a_tent_for_four_is_answered_honestly(chat, shop):
    text = reply_text(chat.ask("do you have a tent for four people?"))
    assert "Trail Tent 2P" in text and "for 2" in text and "£149.00" in text


def test_price_limits_and_stock_wording_come_through_the_adapter(chat, shop):
    events = chat.ask("tea under £10")
    text = reply_text(events)
    assert "Sencha Green Tea" in text and "£8.50" in text and "out of stock" in text
    card = events[-1][1]["products"][0]
    assert card["price"] == "£8.50" and card["availability"] == "out of stock"


def test_nothing_of_that_kind_is_said_plainly(chat, shop):
    text = reply_text(chat.ask("have you got any red wine?"))
    assert "don't sell wine" in text


def test_a_chinese_question_gets_a_chinese_answer(chat, shop):
    text = reply_text(chat.ask("有帐篷吗？"))
    assert "Trail Tent 2P" in text and "帐篷" in text
