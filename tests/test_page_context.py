"""The page the visitor asks from: sent as ``page`` with each message, resolved by the shop adapter, and
given to every provider, so "this one" means the product on that page."""

from __future__ import annotations

import pytest

from chatbot.providers.base import with_page_note
from tests.conftest import parse_sse, reply_text
from tests.fakes.chat import chat_request
from tests.fakes.chatbot_node import FakeChatbotNode
from tests.fakes.openai import FakeOpenAI, openai_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def boots(catalogue):
    return catalogue["Leather Hiking Boots"]


def ask(chat, text: str, page):
    response = chat.post("/api/chatbot/messages", {"text": text, "page": page})
    assert response.status_code == 200, response.content
    return parse_sse(b"".join(response.streaming_content))


def test_the_local_assistant_reads_this_one_as_the_pages_product(chat, boots):
    events = ask(chat, "is this one waterproof?", boots.get_absolute_url())
    text = reply_text(events)
    assert "Leather Hiking Boots" in text and text.startswith("Yes")
    done = events[-1][1]
    assert [card["title"] for card in done["products"]] == ["Leather Hiking Boots"]
    assert done["products"][0]["availability"] == "only 2 left" and done["products"][0]["price"] == "£129.00"


def test_a_query_string_is_allowed_and_the_same_product_found(chat, boots):
    text = reply_text(ask(chat, "how much is it?", boots.get_absolute_url() + "?utm_source=mail"))
    assert "£129.00" in text and "Leather Hiking Boots" in text


@pytest.mark.parametrize(
    "page",
    [
        "/",
        "/basket/",
        "/catalogue/no-such-thing_999999/",
        "https://elsewhere.example/catalogue/x_1/",
        "//elsewhere.example/",
        "javascript:alert(1)",
        "/catalogue/%00_1/",
        "",
        "/" + "a" * 1999,
    ],
)
def test_a_page_that_is_not_a_product_is_no_context(chat, catalogue, page):
    text = reply_text(ask(chat, "is this one waterproof?", page))
    # Nothing on the page to say yes about: the assistant lists what is waterproof instead.
    assert not text.startswith("Yes") and "Waterproof Jacket" in text


@pytest.mark.parametrize("page", [5, True, ["/"], {"path": "/"}, "/" + "a" * 2000])
def test_a_malformed_page_is_a_clear_400_and_stores_nothing(chat, catalogue, page):
    from chatbot.models import Message

    response = chat.post("/api/chatbot/messages", {"text": "hello", "page": page})
    assert response.status_code == 400
    assert response.json()["error"]["code"]
    assert Message.objects.count() == 0


def test_openai_compatible_servers_get_the_pages_product(chat, boots, settings):
    with FakeOpenAI() as llm:
        settings.CHATBOT = openai_settings(llm)
        ask(chat, "is this one waterproof?", boots.get_absolute_url())
        system = llm.completions[0]["messages"][0]["content"]
    assert '"Leather Hiking Boots"' in system and "£129.00" in system and boots.get_absolute_url() in system


def test_services_without_a_system_prompt_get_it_before_the_question(boots):
    from chatbot.shop.oscar import OscarShop  # imports django-oscar, which only the demo has

    request = chat_request("这个防水吗？", shop=OscarShop())
    assert with_page_note(request) == "这个防水吗？"
    request.page_product = OscarShop().product_for_path(boots.get_absolute_url())
    text = with_page_note(request)
    assert text.endswith("\n这个防水吗？") and "Leather Hiking Boots" in text and "only 2 left" in text


def test_the_adapter_resolves_only_its_own_product_pages(boots):
    from chatbot.shop.oscar import OscarShop  # imports django-oscar, which only the demo has

    shop = OscarShop()
    assert shop.product_for_path(boots.get_absolute_url()).title == "Leather Hiking Boots"
    for path in ("/", "/catalogue/", "/accounts/orders/1/", "/catalogue/category/x_1/", "not a path"):
        assert shop.product_for_path(path) is None


def test_chatbot_node_gets_the_pages_product_with_the_question(chat, boots, settings):
    with FakeChatbotNode("node-secret", "shop-1") as node:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "chatbot_node",
            "NODE_URL": node.url,
            "SHOP_ID": "shop-1",
            "SSO_SECRET": "node-secret",
            "NODE_BOT_ID": "7301",
            "READ_TIMEOUT": 5,
        }
        ask(chat, "is this one waterproof?", boots.get_absolute_url())
        message = node.requests[-1].json["message"]
    assert message.endswith("\nis this one waterproof?") and '"Leather Hiking Boots"' in message
    assert "£129.00" in message and "only 2 left" in message
