"""Any malformed body, of any shape, gets the API's JSON error with a 4xx, in the active language.

The demo (like a shop that lists only ``chatbot``) does not install ``rest_framework``, so DRF's own
catalogue is not loaded: the validation messages must come from the app's catalogue.
"""

from __future__ import annotations

import json
import re
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from chatbot.api import serializers as api_serializers
from chatbot.models import Conversation, Message

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff]")
DEPTHS = [25, 200, sys.getrecursionlimit() - 50, sys.getrecursionlimit() + 50, 100_000]


def _nested_arrays(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def _nested_objects(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


def _bodies(depth: int) -> list[str]:
    return [
        _nested_arrays(depth),
        _nested_objects(depth),
        '{"text": ' + _nested_arrays(depth, '"hi"') + "}",
        '{"text": "hi", "extra": ' + _nested_objects(depth) + "}",
        '{"rating": ' + _nested_arrays(depth, '"up"') + "}",
        '{"rating": "up", "comment": ' + _nested_objects(depth, '"x"') + "}",
        '{"messageId": ' + _nested_arrays(depth, '"x"') + "}",
    ]


def _endpoints(chat) -> list[str]:
    reply = chat_reply(chat)
    return [
        "/api/chatbot/messages",
        f"/api/chatbot/messages/{reply}/feedback",
        "/api/chatbot/stop",
        "/api/chatbot/handoff",
    ]


def chat_reply(chat) -> str:
    events = chat.ask("hello")
    return events[-1][1]["id"]


def assert_json_4xx(response) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_bodies_get_a_json_4xx_and_change_nothing(chat, depth):
    endpoints = _endpoints(chat)
    before = list(Message.objects.values_list("pk", "status", "text", "rating", "feedback_comment"))
    for url in endpoints:
        for body in _bodies(depth):
            assert_json_4xx(chat.post(url, body))
    assert list(Message.objects.values_list("pk", "status", "text", "rating", "feedback_comment")) == before
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        "{",
        "",
        " ",
        "nul",
        "NaN",
        '{"text": NaN}',
        '{"text": Infinity}',
        '{"text": "hi"} trailing',
        '{"text": "\\ud800"}',
        '{"text": "a\\u0000b"}',
        '{"text": 1e999}',
        b'{"text": "\xff\xfe"}',
        '{"text": "hi", "text": {"a": 1}}',
        "[]",
        "{}",
        '{"text": null}',
        '{"text": ' + "9" * 5000 + "}",
    ],
)
def test_odd_bodies_get_a_json_4xx(chat, body):
    for url in _endpoints(chat):
        if url.endswith("/stop") and _is_object(body):
            continue  # stop reads only messageId; without it, it stops whatever streams
        error = assert_json_4xx(chat.post(url, body))
        assert error["code"] in {"invalid", "malformed_json", "message_too_long", "invalid_email"}, error


def _is_object(body: str | bytes) -> bool:
    if body == "":
        return True
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def _input_serializers() -> list[type]:
    return [
        cls for name, cls in vars(api_serializers).items() if isinstance(cls, type) and name.endswith("InSerializer")
    ]


def _messages_of(serializer_class: type) -> list[object]:
    serializer = serializer_class()
    messages: list[object] = list(serializer.error_messages.values())
    for field in serializer.fields.values():
        messages += list(field.error_messages.values())
        messages += [getattr(validator, "message", "") for validator in field.validators]
    return [message for message in messages if message]


def test_every_validation_message_an_input_can_raise_is_in_the_apps_catalogue():
    assert "rest_framework" not in django_settings.INSTALLED_APPS  # so DRF's catalogue is not loaded
    untranslated = []
    for serializer_class in _input_serializers():
        for message in _messages_of(serializer_class):
            with translation.override("zh-hans"):
                text = str(message)
            if not CJK.search(text):
                untranslated.append((serializer_class.__name__, text))
    assert not untranslated, untranslated


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("messages", {"text": ""}),
        ("messages", {"text": "   "}),
        ("messages", {}),
        ("messages", {"text": None}),
        ("messages", {"text": 5}),
        ("messages", {"text": "a\u0000b"}),
        ("feedback", {"rating": "sideways"}),
        ("feedback", {}),
        ("feedback", {"rating": "up", "comment": "x" * 2001}),
        ("stop", {"messageId": "not-a-uuid"}),
    ],
)
def test_validation_errors_answer_in_the_active_language(chat, path, body):
    reply = chat_reply(chat)
    url = {
        "messages": "/api/chatbot/messages",
        "feedback": f"/api/chatbot/messages/{reply}/feedback",
        "stop": "/api/chatbot/stop",
    }[path]
    error = assert_json_4xx(chat.post(url, body, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert CJK.search(error["message"]), error
    english = assert_json_4xx(chat.post(url, body, HTTP_ACCEPT_LANGUAGE="en"))
    assert not CJK.search(english["message"]), english


def test_an_empty_message_in_a_chinese_site_answers_in_chinese(chat, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    error = assert_json_4xx(chat.post("/api/chatbot/messages", {"text": ""}))
    assert error == {"code": "invalid", "message": "text: 此字段不能为空。"}


def test_an_unknown_message_id_is_a_json_404(chat):
    response = chat.post(f"/api/chatbot/messages/{uuid.uuid4()}/feedback", {"rating": "up"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
