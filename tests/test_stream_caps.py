"""Caps on concurrent streams per visitor and per address: past them a 429 with Retry-After and
nothing stored; a slot comes back when a reply ends; the storefront keeps answering meanwhile."""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.core.cache import cache

from chatbot.models import Conversation, Message
from tests import providers
from tests.conftest import parse_sse
from tests.test_reliability import WAIT, HttpVisitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gate(settings):
    cache.clear()
    gate = providers.GATE = providers.Gate()
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "tests.providers.GatedProvider",
        "RATE_LIMITS": "visitor=1000/m,ip=1000/m",
        "MAX_STREAMS_PER_VISITOR": 2,
        "MAX_STREAMS_PER_ADDRESS": 3,
    }
    yield gate
    gate.release.set()


def _open(visitor: HttpVisitor, text: str = "tell me a story") -> requests.Response:
    """A reply that has started streaming (its first words arrived) and is held open by the gate."""
    response = visitor.start(text)
    assert response.status_code == 200, response.text
    lines = response.iter_lines(chunk_size=1)  # each byte as it comes: the reply is held open
    for line in lines:
        if b"Hello" in line:
            break
    response.rest = lines  # type: ignore[attr-defined]
    return response


def _finish(response: requests.Response) -> str:
    last = ""
    for line in response.rest:  # type: ignore[attr-defined]
        if line.startswith(b"event:"):
            last = line.decode()[6:].strip()
    return last


def _refused(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "too_many_streams"


@pytest.mark.demo
def test_one_address_holds_at_most_its_cap_of_streams_whatever_the_sessions(live_server, gate):
    held = [_open(HttpVisitor(live_server.url), f"story {n}") for n in range(3)]
    messages = Message.objects.count()
    conversations = Conversation.objects.count()
    _refused(HttpVisitor(live_server.url).start("one more"))
    assert (Message.objects.count(), Conversation.objects.count()) == (messages, conversations)
    # The storefront and the health check still answer.
    assert requests.get(f"{live_server.url}/", timeout=WAIT).status_code == 200
    assert requests.get(f"{live_server.url}/api/chatbot/health", timeout=WAIT).status_code == 200
    gate.release.set()
    assert [_finish(response) for response in held] == ["done"] * 3
    # Every slot came back.
    again = [HttpVisitor(live_server.url).ask(f"again {n}")[-1][0] for n in range(3)]
    assert again == ["done"] * 3


def test_a_visitor_holds_at_most_their_cap(live_server, gate, settings):
    settings.CHATBOT = {**settings.CHATBOT, "MAX_STREAMS_PER_VISITOR": 1}
    visitor = HttpVisitor(live_server.url)
    held = _open(visitor)
    _refused(visitor.start("and another"))
    gate.release.set()
    assert _finish(held) == "done"
    assert visitor.ask("now?")[-1][0] == "done"


def test_a_slot_comes_back_when_the_visitor_goes_away(live_server, gate):
    held = [_open(HttpVisitor(live_server.url), f"story {n}") for n in range(3)]
    held[0].close()  # the visitor leaves mid-reply
    gate.release.set()
    assert [_finish(response) for response in held[1:]] == ["done"] * 2
    # The server finds the first visitor gone at its next write and frees the slot; until then a
    # newcomer is told to wait, after that they are answered.
    deadline = time.monotonic() + WAIT
    while (late := HttpVisitor(live_server.url).start("my turn")).status_code == 429:
        assert time.monotonic() < deadline, "the slot of the visitor who left never came back"
        time.sleep(0.01)
    assert late.status_code == 200
    assert parse_sse(late.content)[-1][0] == "done"
    first = Message.objects.filter(role="assistant").order_by("id").first()
    assert first.status != Message.Status.STREAMING


def test_rate_limits_off_turns_the_caps_off(live_server, gate, settings):
    settings.CHATBOT = {**settings.CHATBOT, "RATE_LIMITS": "off"}
    held = [_open(HttpVisitor(live_server.url), f"story {n}") for n in range(5)]
    gate.release.set()
    assert [_finish(response) for response in held] == ["done"] * 5


def test_retry_after_and_message_in_chinese(live_server, gate):
    held = [_open(HttpVisitor(live_server.url), f"story {n}") for n in range(3)]
    visitor = HttpVisitor(live_server.url)
    response = visitor.http.post(
        f"{live_server.url}/api/chatbot/messages",
        data=json.dumps({"text": "hi"}),
        headers={"Content-Type": "application/json", "X-CSRFToken": visitor.csrf, "Accept-Language": "zh-hans"},
        timeout=WAIT,
    )
    _refused(response)
    assert any("\u4e00" <= char <= "\u9fff" for char in response.json()["error"]["message"])
    gate.release.set()
    for each in held:
        _finish(each)
