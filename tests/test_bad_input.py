"""Bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from chatbot.models import Conversation, Message

pytestmark = pytest.mark.django_db

URL = "/api/chatbot/messages"


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def assert_nothing_stored() -> None:
    assert Message.objects.count() == 0
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(chat, text):
    assert_error(chat.post(URL, {"text": text}), 400, "invalid")
    assert_nothing_stored()


def test_missing_text(chat):
    assert_error(chat.post(URL, {"message": "hi"}), 400, "invalid")
    assert_nothing_stored()


@pytest.mark.parametrize("value", [123, 1.5, True, None, ["hi"], {"a": 1}])
def test_wrong_types(chat, value):
    assert_error(chat.post(URL, {"text": value}), 400, "invalid")
    assert_nothing_stored()


@pytest.mark.parametrize("body", ['["hi"]', '"hi"', "42", "null"])
def test_body_that_is_not_an_object(chat, body):
    assert_error(chat.post(URL, body), 400, "invalid")
    assert_nothing_stored()


def test_text_over_the_limit(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "MAX_MESSAGE_LENGTH": 50}
    assert_error(chat.post(URL, {"text": "x" * 51}), 413, "message_too_long")
    assert_nothing_stored()
    ok = chat.post(URL, {"text": "y" * 50})
    assert ok.status_code == 200
    b"".join(ok.streaming_content)


def test_huge_body(chat):
    assert_error(chat.post(URL, {"text": "z" * 5_000_000}), 413, "message_too_long")
    assert_nothing_stored()


def test_unicode_limit_counts_characters_not_bytes(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "MAX_MESSAGE_LENGTH": 10}
    response = chat.post(URL, {"text": "龙井茶🍵龙井茶🍵龙井"})
    assert response.status_code == 200
    b"".join(response.streaming_content)


@pytest.mark.parametrize("body", ["{", '{"text": }', "not json", "\xff\xfe"])
def test_malformed_json(chat, body):
    assert_error(chat.post(URL, body.encode("latin-1")), 400, "malformed_json")
    assert_nothing_stored()


def test_lone_surrogate_is_refused(chat):
    assert_error(chat.post(URL, '{"text": "hi \\ud800"}'), 400, "invalid")
    assert_nothing_stored()


def test_null_character_is_refused(chat):
    assert_error(chat.post(URL, {"text": "hi\x00there"}), 400, "invalid")
    assert_nothing_stored()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_wrong_content_type(chat, content_type):
    response = chat.client.post(URL, "text=hi", content_type=content_type, HTTP_X_CSRFTOKEN=chat.csrf)
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


def test_missing_csrf_token(chat):
    response = chat.client.post(URL, json.dumps({"text": "hi"}), content_type="application/json")
    assert_error(response, 403, "csrf_failed")
    assert_nothing_stored()


def test_wrong_csrf_token(chat):
    response = chat.client.post(
        URL, json.dumps({"text": "hi"}), content_type="application/json", HTTP_X_CSRFTOKEN="x" * 32
    )
    assert_error(response, 403, "csrf_failed")
    assert_nothing_stored()


def test_logged_in_users_need_csrf_too(customers):
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password="alice-pass")
    response = client.post(URL, json.dumps({"text": "hi"}), content_type="application/json")
    assert_error(response, 403, "csrf_failed")


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", URL),
        ("post", URL),
        ("post", "/api/chatbot/stop"),
        ("get", "/api/chatbot/health"),
        ("post", "/api/chatbot/messages/1b4e28ba-2fa1-11d2-883f-0016d3cca427/feedback"),
    ],
)
def test_disabled_app_answers_404(chat, settings, method, path):
    settings.CHATBOT = {**settings.CHATBOT, "ENABLED": False}
    response = chat.post(path, {"text": "hi"}) if method == "post" else chat.client.get(path)
    assert_error(response, 404, "not_found")
    assert_nothing_stored()


def test_wrong_method(chat):
    assert_error(chat.client.delete(URL, HTTP_X_CSRFTOKEN=chat.csrf), 405, "method_not_allowed")


def test_second_message_while_a_reply_streams_is_refused(chat):
    first = chat.post(URL, {"text": "hello"})
    assert first.status_code == 200
    # The first reply has not been read yet, so it is still streaming.
    assert_error(chat.post(URL, {"text": "hello again"}), 409, "reply_in_progress")
    b"".join(first.streaming_content)
    assert Message.objects.filter(role="user").count() == 1


def test_rate_limit(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "RATE_LIMITS": "visitor=2/m,ip=100/m"}
    from django.core.cache import cache

    cache.clear()
    for _ in range(2):
        b"".join(chat.post(URL, {"text": "hello"}).streaming_content)
    response = chat.post(URL, {"text": "hello"})
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert Message.objects.filter(role="user").count() == 2
