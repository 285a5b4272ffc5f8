"""Signed but malformed Stream webhook events (valid JSON with fields of the wrong type, deep nesting)
are answered 4xx or acknowledged and ignored, never a 5xx, which Stream would retry."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from chatbot.models import Message
from tests.fakes.stream_server import stream_fixture  # noqa: F401 - fixture
from tests.test_stream_webhook import HOOK, TOKEN, message_new, sign

pytestmark = pytest.mark.django_db(transaction=True)

ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    10**40,
    True,
    False,
    "",
    "x" * 5000,
    "\u0000",
    "a\u0000b",
    "\ud800",
    "é" * 300,
    [],
    [1, "a"],
    {},
    {"id": {"id": 1}},
    [[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]],
]


def _paths(event: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(event, dict):
        for key, value in event.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))


def _replaced(event: dict, path: tuple, value: Any) -> dict:
    changed = copy.deepcopy(event)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _post(body: bytes) -> Any:
    return Client().post(
        HOOK,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(body),
        HTTP_X_WEBHOOK_ID=str(uuid.uuid4()),
    )


def _variants(token: dict) -> Iterator[dict]:
    for base in (
        message_new(token),
        {
            "type": "ai_indicator.stop",
            "cid": f"messaging:{token['channelId']}",
            "channel_id": token["channelId"],
            "user": {"id": token["userId"]},
        },
    ):
        for path in _paths(base):
            for value in ODD_VALUES:
                yield _replaced(base, path, value)
        for value in ODD_VALUES:
            yield {**base, "type": value}
            yield {**base, "unexpected": value}


def test_every_field_of_the_wrong_type_is_answered_without_a_5xx(stream, chat, queued_tasks):
    token = chat.post(TOKEN).json()
    answers = []
    for event in _variants(token):
        response = _post(json.dumps(event).encode())
        answers.append(response.status_code)
        assert response.status_code < 500, (event, response.content)
        assert "ok" in response.json() or "error" in response.json()
    assert 200 in answers
    # Whatever was queued is for text the visitor wrote, and only strings were taken as text.
    assert all(isinstance(text, str) for text in Message.objects.values_list("text", flat=True))


@pytest.mark.parametrize("depth", [25, 500, 5000, 100_000])
def test_deeply_nested_signed_events_are_refused_with_a_4xx(stream, chat, depth):
    token = chat.post(TOKEN).json()
    nested = "[" * depth + "1" + "]" * depth
    for body in (
        nested,
        json.dumps(message_new(token))[:-1] + ', "extra": ' + nested + "}",
        '{"type": "message.new", "message": ' + '{"a":' * depth + "1" + "}" * depth + "}",
    ):
        response = _post(body.encode())
        assert response.status_code == 400, response.content[:200]
        assert response.json()["error"]["code"] == "malformed_json"
    assert not Message.objects.exists()


@pytest.mark.parametrize("body", [b"[]", b"null", b'"message.new"', b"NaN", b'{"type": NaN}', b"\xff\xfe{}"])
def test_signed_bodies_that_are_not_events_are_a_4xx(stream, body):
    response = _post(body)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] in {"invalid", "malformed_json"}
