"""Streaming works under ASGI too: the reply arrives in pieces, not buffered whole; a visitor who goes
away stops it, and an upstream failure ends it with an error, as under WSGI."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import async_to_sync
from django.middleware.csrf import _get_new_csrf_string
from django.test import AsyncClient

from chatbot.models import Message
from tests import providers
from tests.conftest import parse_sse, reply_text


async def _ask(text: str):
    token = _get_new_csrf_string()
    client = AsyncClient(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = token
    return await client.post(
        "/api/chatbot/messages", {"text": text}, content_type="application/json", headers={"X-CSRFToken": token}
    )


@pytest.mark.django_db(transaction=True)
def test_asgi_streams_the_reply(catalogue, settings):
    # The assistant typing as it does on a site (pieces queued together would go out as one event).
    settings.CHATBOT = {**settings.CHATBOT, "LOCAL_STREAM_DELAY": 0.001}

    async def converse():
        response = await _ask("ceramic teapot")
        assert response.status_code == 200
        assert response.is_async, "an async iterator, so the ASGI server can send each event as it comes"
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(converse)()
    assert len(chunks) > 3
    events = parse_sse(b"".join(chunks))
    assert events[-1][0] == "done"
    assert "Ceramic Teapot" in reply_text(events)
    assert Message.objects.get(role="assistant").status == "done"


@pytest.mark.django_db(transaction=True)
def test_asgi_client_that_goes_away_stops_the_reply_and_keeps_what_was_said(settings):
    gate = providers.GATE = providers.Gate()
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.GatedProvider"}

    async def converse():
        response = await _ask("tell me a story")
        said = asyncio.Event()

        async def read():
            async for chunk in response.streaming_content:
                if b"Hello" in chunk:
                    said.set()

        reading = asyncio.create_task(read())
        await said.wait()
        gate.release.set()
        # What Django's ASGI handler does when the client disconnects: cancel the response.
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading

    try:
        async_to_sync(converse)()
    finally:
        gate.release.set()
    reply = Message.objects.get(role="assistant")
    assert reply.status == Message.Status.STOPPED
    assert reply.text.startswith("Hello")
    assert len(reply.text.split()) < 201, "the reply was cut short, not completed"
    assert gate.closed.is_set(), "the provider's stream was closed"


@pytest.mark.django_db(transaction=True)
def test_asgi_upstream_failure_ends_with_an_error_and_keeps_the_partial_reply(settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.FailingMidwayProvider"}

    async def converse():
        response = await _ask("where is my order")
        return b"".join([chunk async for chunk in response.streaming_content])

    events = parse_sse(async_to_sync(converse)())
    assert events[-1][0] == "error"
    assert reply_text(events) == "Let me check that for you"
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.text) == ("error", "Let me check that for you")
    assert Message.objects.get(role="user").text == "where is my order"
