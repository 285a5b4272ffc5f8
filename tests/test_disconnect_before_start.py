"""A visitor who disconnects before the response starts: the reply ``begin_turn`` created is settled at
once (stopped), not left "streaming" until a later visit or a restart finds it.

A server closes the response when it finds the visitor gone (a WSGI server calls ``close()`` after a
failed write, possibly before asking for the first chunk); Django's ASGI handler drops the response
without closing it when the disconnect comes before it is sent.
"""

from __future__ import annotations

import gc
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.asgi import get_asgi_application
from django.middleware.csrf import _get_new_csrf_string

from chatbot.models import Message
from chatbot.signals import message_received
from tests import providers

WAIT = 30.0  # an upper bound for a broken test, never a pacing delay


def _wait_for_reply_status(*statuses: str) -> Message:
    deadline = time.monotonic() + WAIT
    while True:
        reply = Message.objects.filter(role="assistant").first()
        if reply is not None and reply.status in statuses:
            return reply
        assert time.monotonic() < deadline, reply and reply.status
        time.sleep(0.01)


@pytest.fixture
def gated(settings):
    gate = providers.GATE = providers.Gate()
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.GatedProvider"}
    yield gate
    gate.release.set()


@pytest.mark.django_db(transaction=True)
def test_wsgi_response_closed_before_the_first_chunk_settles_the_reply(chat, gated):
    response = chat.post("/api/chatbot/messages", {"text": "tell me a story"})
    assert response.status_code == 200
    assert Message.objects.get(role="assistant").status == Message.Status.STREAMING
    response.close()
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.text) == (Message.Status.STOPPED, "")
    assert not gated.calls, "the provider was never asked"
    # The conversation goes on: the next message is not refused as "reply in progress".
    gated.release.set()
    assert chat.ask("are you there?")[-1][0] == "done"


@pytest.mark.django_db(transaction=True)
def test_wsgi_response_closed_after_the_question_event_settles_the_reply(chat, gated):
    response = chat.post("/api/chatbot/messages", {"text": "tell me a story"})
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert first.startswith(b"event: message\n")
    response.close()
    assert Message.objects.get(role="assistant").status == Message.Status.STOPPED
    assert not gated.calls


@pytest.mark.django_db(transaction=True)
def test_asgi_visitor_disconnecting_at_once_leaves_no_reply_streaming(gated):
    """The real ASGI handler: the request, then the visitor's disconnect, before any byte is sent."""
    application = get_asgi_application()
    token = _get_new_csrf_string()
    body = json.dumps({"text": "tell me a story"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chatbot/messages",
        "raw_path": b"/api/chatbot/messages",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-csrftoken", token.encode()),
            (b"cookie", f"csrftoken={token}".encode()),
        ],
    }
    sent: list[dict] = []
    stored, gone = threading.Event(), threading.Event()

    def hold_the_view(**kwargs: object) -> None:
        # The question is stored; the view returns its response only once the visitor has left.
        stored.set()
        gone.wait(WAIT)

    async def drive() -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop(0)
            await sync_to_async(stored.wait, thread_sensitive=False)(WAIT)
            gone.set()
            gated.release.set()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await application(scope, receive, send)

    message_received.connect(hold_the_view)
    try:
        async_to_sync(drive)()
    finally:
        message_received.disconnect(hold_the_view)
        gone.set()
    assert not [m for m in sent if m["type"] == "http.response.body"], "nothing was sent"
    # Django's handler dropped the response; DRF's view and request refer to each other, so the
    # response goes with the next collection of reference cycles, which a server runs all the time.
    gc.collect()
    reply = _wait_for_reply_status(Message.Status.STOPPED, Message.Status.DONE)
    assert reply.status == Message.Status.STOPPED, (reply.status, [m["type"] for m in sent])
