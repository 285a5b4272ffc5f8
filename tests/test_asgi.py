"""Streaming works under ASGI too: the reply arrives in pieces, not buffered whole."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.middleware.csrf import _get_new_csrf_string
from django.test import AsyncClient

from chatbot.models import Message
from tests.conftest import parse_sse, reply_text


@pytest.mark.django_db(transaction=True)
def test_asgi_streams_the_reply(catalogue):
    token = _get_new_csrf_string()

    async def converse():
        client = AsyncClient(enforce_csrf_checks=True)
        client.cookies["csrftoken"] = token
        response = await client.post(
            "/api/chatbot/messages",
            {"text": "ceramic teapot"},
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 200
        assert response.is_async, "an async iterator, so the ASGI server can send each event as it comes"
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(converse)()
    assert len(chunks) > 3
    events = parse_sse(b"".join(chunks))
    assert events[-1][0] == "done"
    assert "Ceramic Teapot" in reply_text(events)
    assert Message.objects.get(role="assistant").status == "done"
