"""``{% chatbot_widget %}``: markup, configuration, cost per page, translations, and what it never leaks."""

from __future__ import annotations

import json
import re

import pytest
from django.template import engines
from django.test import Client, RequestFactory
from django.utils import translation

from chatbot.conf import DEFAULTS
from chatbot.shop.base import ShopAdapter

pytestmark = pytest.mark.django_db

CONFIG_RE = re.compile(r'<script id="shop-chatbot-config" type="application/json">(.*?)</script>', re.S)


def render_widget(request=None, language: str = "en-gb") -> str:
    template = engines["django"].from_string("{% load chatbot %}{% chatbot_widget %}")
    request = request or RequestFactory().get("/")
    # Rendered under an explicit language: a language left active by another test must not leak in.
    with translation.override(language):
        return template.render({}, request)


def config_of(html: str) -> dict:
    match = CONFIG_RE.search(html)
    assert match, html
    return json.loads(match.group(1))


@pytest.fixture
def chatbot_conf(settings):
    """Change ``settings.CHATBOT`` keys for one test; the app's settings cache resets by itself."""

    def apply(**changes):
        settings.CHATBOT = {**settings.CHATBOT, **changes}

    return apply


def test_renders_launcher_config_and_deferred_loader():
    html = render_widget()
    assert '<div id="shop-chatbot"' in html
    assert '<template shadowrootmode="open">' in html
    assert re.search(r'<button type="button" class="launcher" aria-label="Chat with us"', html)
    assert 'aria-haspopup="dialog"' in html
    assert re.search(r'<script src="/static/chatbot/loader\.js" defer></script>', html)
    assert '<link rel="stylesheet" href="/static/chatbot/loader.css">' in html
    # The chat UI itself is not on the page: only its address, for the loader.
    assert not re.search(r"<script[^>]+chat\.js", html)
    assert not re.search(r"<link[^>]+chat\.css", html)
    assert "style=" not in html, "inline style attributes would need 'unsafe-inline' under a CSP"
    assert "<script>" not in html, "no inline script that executes"


def test_config_holds_endpoints_csrf_mode_strings_and_theme():
    config = config_of(render_widget())
    assert config["mode"] == "builtin"
    assert config["endpoints"] == {
        "messages": "/api/chatbot/messages",
        "stop": "/api/chatbot/stop",
        "handoff": "/api/chatbot/handoff",
        "feedback": "/api/chatbot/messages/{id}/feedback",
    }
    assert config["assets"] == {"js": "/static/chatbot/chat.js", "css": "/static/chatbot/chat.css"}
    assert len(config["csrfToken"]) == 64
    assert config["csrfHeader"] == "X-CSRFToken"
    assert config["csrfCookie"] == "csrftoken"
    assert config["maxLength"] == DEFAULTS["MAX_MESSAGE_LENGTH"]
    assert config["theme"] == {
        "color": "#2563eb",
        "onColor": "#ffffff",
        "position": "right",
        "scheme": "auto",
        "showLabel": False,
    }
    assert config["strings"]["label"] == "Chat with us"
    assert config["strings"]["handoffText"] == "talk to a human"
    assert config["suggestions"], "first-time visitors get suggested questions"


def test_rendering_makes_no_database_query(django_assert_num_queries, client):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        render_widget(request)


def test_renders_nothing_when_the_app_is_disabled(chatbot_conf, django_assert_num_queries):
    chatbot_conf(ENABLED=False)
    with django_assert_num_queries(0):
        assert render_widget().strip() == ""


@pytest.mark.demo
def test_a_storefront_page_sets_the_csrf_cookie_the_chat_posts_with():
    browser = Client(enforce_csrf_checks=True)
    response = browser.get("/", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="shop-chatbot"' in html
    assert "csrftoken" in response.cookies
    token = config_of(html)["csrfToken"]
    # The page's token and the cookie belong together: the API accepts a POST made with them.
    answer = browser.post("/api/chatbot/stop", "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 204
    refused = browser.post("/api/chatbot/stop", "{}", content_type="application/json")
    assert refused.status_code == 403


def test_a_storefront_page_without_the_app_has_no_launcher(client, chatbot_conf):
    chatbot_conf(ENABLED=False)
    html = client.get("/", follow=True).content.decode()
    assert "shop-chatbot" not in html
    assert "loader.js" not in html


def test_chinese_labels_under_zh_hans():
    html = render_widget(language="zh-hans")
    config = config_of(html)
    assert 'aria-label="在线客服"' in html
    assert config["strings"]["label"] == "在线客服"
    assert config["strings"]["handoffText"] == "转人工"
    assert config["strings"]["send"] == "发送"
    assert config["language"] == "zh-hans"
    assert all(re.search(r"[\u4e00-\u9fff]", q) for q in config["suggestions"])


def test_configured_wording_colour_position_and_scheme(chatbot_conf):
    chatbot_conf(
        WIDGET={
            "label": "Ask Pine",
            "title": "Pine, your helper",
            "greeting": "Hello!",
            "suggestions": ["Is the teapot in stock?"],
            "theme_color": "#0f766e",
            "position": "left",
            "color_scheme": "dark",
        },
        MAX_MESSAGE_LENGTH=500,
    )
    html = render_widget()
    config = config_of(html)
    assert 'aria-label="Ask Pine"' in html
    assert 'data-position="left"' in html and 'data-scheme="dark"' in html
    assert config["strings"]["title"] == "Pine, your helper"
    assert config["strings"]["greeting"] == "Hello!"
    assert config["suggestions"] == ["Is the teapot in stock?"]
    assert config["theme"] == {
        "color": "#0f766e",
        "onColor": "#ffffff",
        "position": "left",
        "scheme": "dark",
        "showLabel": False,
    }
    assert config["maxLength"] == 500


def test_text_on_a_light_theme_colour_is_dark(chatbot_conf):
    chatbot_conf(WIDGET={"theme_color": "#fde047"})
    assert config_of(render_widget())["theme"]["onColor"] == "#111827"
    chatbot_conf(WIDGET={"theme_color": "#000"})
    assert config_of(render_widget())["theme"]["onColor"] == "#ffffff"


def test_suggestions_can_be_switched_off(chatbot_conf):
    chatbot_conf(WIDGET={"suggestions": None})
    assert config_of(render_widget())["suggestions"] == []


def test_only_a_hex_colour_reaches_the_page(chatbot_conf):
    chatbot_conf(WIDGET={"theme_color": "red; background: url(//evil.example/x)", "position": "middle"})
    config = config_of(render_widget())
    assert config["theme"]["color"] == "#2563eb"
    assert config["theme"]["position"] == "right"
    assert "evil.example" not in render_widget()


def test_configured_text_cannot_break_out_of_the_markup(chatbot_conf):
    chatbot_conf(WIDGET={"label": '"></button></template><script>alert(1)</script>'})
    html = render_widget()
    assert "<script>alert(1)" not in html
    assert config_of(html)["strings"]["label"].startswith('">')


def test_stream_mode_only_with_both_keys(chatbot_conf):
    chatbot_conf(STREAM_CHAT_ENABLED=True, STREAM_CHAT_API_KEY="public-key", STREAM_CHAT_API_SECRET="")
    assert config_of(render_widget())["mode"] == "builtin"
    chatbot_conf(STREAM_CHAT_API_SECRET="stream-secret-value")
    config = config_of(render_widget())
    assert config["mode"] == "stream"
    # The builtin endpoints stay: they are the fallback while the stream client is not available.
    assert config["endpoints"]["messages"] == "/api/chatbot/messages"


def test_no_secret_reaches_the_page(chatbot_conf):
    secrets = {
        "STREAM_CHAT_API_SECRET": "stream-secret-3f9a",
        "SSO_SECRET": "sso-secret-77c1",
        "WEBHOOK_SECRET": "webhook-secret-a0b2",
        "OPENAI_API_KEY": "sk-openai-key-5d6e",
        "COZE_API_TOKEN": "pat_coze_token_91f0",
    }
    chatbot_conf(STREAM_CHAT_ENABLED=True, STREAM_CHAT_API_KEY="stream-public-key", **secrets)
    html = render_widget()
    for value in secrets.values():
        assert value not in html
    assert "stream-public-key" not in html, "the Stream key comes with the session's token, not the page"


class BasketShop(ShopAdapter):
    """A shop of its own with a basket form (ShopAdapter.add_to_basket_url)."""

    def add_to_basket_url(self) -> str | None:
        return "/cart/add/{id}/"


class BadBasketShop(ShopAdapter):
    def add_to_basket_url(self) -> str | None:
        return "/cart/add/"  # no {id}: cards could not say which product


@pytest.mark.demo
def test_add_to_basket_posts_where_the_shop_adapter_says(chatbot_conf, django_assert_num_queries):
    # Oscar's adapter names its own basket:add form.
    assert config_of(render_widget())["basket"] == {"add": "/basket/add/{id}/"}
    chatbot_conf(SHOP_ADAPTER="tests.test_widget_tag.BasketShop")
    with django_assert_num_queries(0):
        html = render_widget()
    assert config_of(html)["basket"] == {"add": "/cart/add/{id}/"}
    # The default, a URL without {id}, and an adapter that cannot be loaded: View only.
    for adapter in ("none", "tests.test_widget_tag.BadBasketShop", "tests.no_such_module.Shop"):
        chatbot_conf(SHOP_ADAPTER=adapter)
        assert config_of(render_widget())["basket"] == {}, adapter


def test_an_english_page_carries_the_labels_a_chinese_writer_switches_to():
    translations = config_of(render_widget())["translations"]
    assert list(translations) == ["zh-hans"]
    chinese = translations["zh-hans"]
    assert chinese["send"] == "发送"
    assert chinese["label"] == "在线客服"
    assert set(chinese) <= set(config_of(render_widget())["strings"])
    # A Chinese page has the Chinese labels already.
    assert config_of(render_widget(language="zh-hans"))["translations"] == {}


def test_show_label_writes_the_label_beside_the_launchers_icon(chatbot_conf):
    chatbot_conf(WIDGET={"show_label": True, "label": "Ask us"})
    config = config_of(render_widget())
    assert config["theme"]["showLabel"] is True
    assert config["strings"]["label"] == "Ask us"
