"""The Stream reply written on the event loop (``chatbot.transports.stream_arelay``): the same Stream
calls as the task's writer, partial updates that never hold the relay up, a stop, and the ASGI
application choosing the loop over a task.

Each test runs the writer on a loop of its own (``async_to_sync``) against the loopback Stream API;
the loop's Stream client is closed before the loop ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from asgiref.sync import async_to_sync

from chatbot.aio import in_thread
from chatbot.asgi import asgi_application
from chatbot.models import Conversation, Message
from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent
from chatbot.signals import reply_finished
from chatbot.transports.stream.client import close_async_client
from chatbot.transports.stream_arelay import awrite_reply, finish_writing, write_on_loop
from chatbot.transports.stream_relay import sweep_stale_replies
from tests.fakes.stream_server import SCRIPT, WAIT, stream_fixture  # noqa: F401 - fixture
from tests.test_asgi_application import Client

TOKEN = "/api/chatbot/stream-chat-token"
pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")


def on_a_loop(work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` on an event loop of its own, whose Stream client is closed at the end."""

    async def run() -> T:
        try:
            return await work()
        finally:
            await close_async_client()

    return async_to_sync(run)()


def streaming_reply(chat, text: str = "Do you sell tea?") -> Message:
    """A visitor's question in their Stream channel and the reply to it, not written yet."""
    token = chat.post(TOKEN).json()
    conversation = Conversation.objects.get(stream_channel_id=token["channelId"])
    Message.objects.create(conversation=conversation, role="user", text=text)
    return Message.objects.create(conversation=conversation, role="assistant", status="streaming", text="")


def updates(fake, reply_id: str) -> list[dict]:
    calls = fake.ops("update message partial")
    return [c.body["set"] for c in calls if c.params["mid"] == reply_id and c.status == 200]


class LockstepProvider(Provider):
    """Sends ``SCRIPT.chunks``; after each of the first ``steps`` it waits until Stream has answered
    (whatever the answer) an update of the reply with all the text so far: a provider slower than
    Stream, so that the partial updates are known in advance."""

    name = "lockstep"
    fake: Any = None
    steps = 0

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        text = ""
        for index, chunk in enumerate(SCRIPT.chunks):
            text += chunk
            SCRIPT.sent.append(chunk)
            yield Delta(chunk)
            if index < LockstepProvider.steps:
                LockstepProvider.fake.wait_for(lambda text=text: text in answered_texts(LockstepProvider.fake))
        yield Done()


def answered_texts(fake) -> list[str]:
    return [(c.body or {}).get("set", {}).get("text") for c in fake.ops("update message partial")]


@pytest.fixture
def lockstep(stream, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": f"{__name__}.LockstepProvider"}
    LockstepProvider.fake, LockstepProvider.steps = stream, len(SCRIPT.chunks)
    yield LockstepProvider
    LockstepProvider.fake = None


def test_a_reply_written_on_the_loop_follows_stream_s_ai_sequence(stream, lockstep, chat):
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)
    outcome = on_a_loop(lambda: awrite_reply(reply))
    assert stream.event_types(reply_id) == ["AI_STATE_THINKING", "AI_STATE_GENERATING", "ai_indicator.clear"]
    created = next(c.body for c in stream.ops("send message") if c.body["message"]["id"] == reply_id)
    assert created["message"] == {
        "id": reply_id,
        "text": "",
        "ai_generated": True,
        "generating": True,
        "user": {"id": "shop-assistant"},
    }
    assert created["skip_push"] is True
    written = updates(stream, reply_id)
    # With no throttle interval and a provider slower than Stream, every chunk is one partial update (as
    # the task writes them), then one final update.
    assert [u["text"] for u in written[:-1]] == ["Hello", "Hello, I am ", "Hello, I am the shop's ", SCRIPT.text]
    assert all(u["generating"] for u in written[:-1])
    assert written[-1] == {"text": SCRIPT.text, "generating": False}
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    assert outcome == {"partial_updates": len(written) - 1, "status": "done"}
    reply.refresh_from_db()
    assert (reply.status, reply.text, reply.external_id, reply.transport_unsettled) == (
        "done",
        SCRIPT.text,
        reply_id,
        False,
    )
    # Every call was the server's, with the key and the server token the SDK's sync client sends.
    assert all(c.user_id is None for c in stream.calls)


def test_an_upstream_failure_midway_shows_the_error_state_and_keeps_the_text(stream, chat):
    SCRIPT.reset(fail_after=2)
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)
    outcome = on_a_loop(lambda: awrite_reply(reply))
    assert outcome["status"] == "error"
    assert stream.event_types(reply_id) == ["AI_STATE_THINKING", "AI_STATE_GENERATING", "AI_STATE_ERROR"]
    error_event = [e for e in stream.events if e.get("ai_state") == "AI_STATE_ERROR"][-1]
    assert "try again" in error_event["ai_message"].lower()
    assert updates(stream, reply_id)[-1] == {"text": "Hello, I am ", "generating": False}
    reply.refresh_from_db()
    assert (reply.status, reply.text) == ("error", "Hello, I am ")


def test_a_rate_limited_partial_update_rests_the_preview_and_the_final_text_is_whole(stream, lockstep, chat):
    lockstep.steps = 1  # the rest of the reply comes once the first partial update was refused
    stream.fail("update message partial", 429)
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)
    on_a_loop(lambda: awrite_reply(reply))
    attempts = [c for c in stream.ops("update message partial") if c.params["mid"] == reply_id]
    assert [c.status for c in attempts] == [429, 200]  # no partial update after the 429; the final one
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    assert stream.messages[reply_id]["generating"] is False


def test_a_final_update_stream_refuses_leaves_the_reply_unsettled(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_UPDATE_INTERVAL": 3600}
    stream.fail("update message partial", 503, times=3)  # every attempt of the final update
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)
    outcome = on_a_loop(lambda: awrite_reply(reply))
    assert outcome == {"partial_updates": 0, "status": "done", "unsettled": True}
    assert [c.status for c in stream.ops("update message partial")] == [503, 503, 503]
    assert stream.messages[reply_id]["generating"] is True  # what the visitor still sees
    assert stream.event_types(reply_id) == ["AI_STATE_THINKING", "AI_STATE_GENERATING"]
    reply.refresh_from_db()
    assert (reply.status, reply.text, reply.transport_unsettled) == ("done", SCRIPT.text, True)
    # Stream is back: the next message's sweep writes the final state.
    sweep_stale_replies()
    assert (stream.messages[reply_id]["text"], stream.messages[reply_id]["generating"]) == (SCRIPT.text, False)
    assert not Message.objects.filter(transport_unsettled=True).exists()


def test_a_partial_update_in_flight_never_holds_the_relay_up(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.fakes.stream_server.GatedProvider"}
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)
    release = stream.hold("update message partial")  # the first partial update: "Hello"
    stored = threading.Event()

    def on_finished(message: Message, **kwargs: Any) -> None:
        if message.pk == reply.pk:
            stored.set()

    async def converse() -> tuple[bool, list[str], dict]:
        writing = asyncio.ensure_future(awrite_reply(reply))
        await asyncio.to_thread(stream.wait_for, lambda: bool(stream.held))
        SCRIPT.release.set()  # the provider streams the rest while Stream sits on the update
        finished_while_held = await asyncio.to_thread(stored.wait, WAIT) and bool(stream.held)
        held_texts = [c.body["set"]["text"] for c in stream.held]
        release.set()
        return finished_while_held, held_texts, await writing

    reply_finished.connect(on_finished, weak=False)
    try:
        finished_while_held, held_texts, outcome = on_a_loop(converse)
    finally:
        release.set()
        SCRIPT.release.set()
        reply_finished.disconnect(on_finished)
    # The relay read the whole reply and stored it while the update was still unanswered.
    assert finished_while_held
    assert held_texts == ["Hello"]
    assert Message.objects.get(pk=reply.pk).text == SCRIPT.text
    # Then the update in flight was answered, and the final update, last, carries the whole text.
    assert updates(stream, reply_id) == [
        {"text": "Hello", "generating": True},
        {"text": SCRIPT.text, "generating": False},
    ]
    assert outcome == {"partial_updates": 1, "status": "done"}
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"


class WaitsForStopProvider(Provider):
    """Says "Hello" on the loop, then waits: only a stop (or closing its stream) ends it."""

    name = "waits-for-stop"
    closed = threading.Event()

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        try:
            yield Delta("Hello")
            await asyncio.wait_for(asyncio.Event().wait(), WAIT)  # a bound for a broken test
        finally:
            WaitsForStopProvider.closed.set()


def test_a_stop_ends_a_reply_written_on_the_loop(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": f"{__name__}.WaitsForStopProvider"}
    WaitsForStopProvider.closed.clear()
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)

    async def converse() -> tuple[int, dict]:
        writing = asyncio.ensure_future(awrite_reply(reply))
        await asyncio.to_thread(stream.wait_for, lambda: any(u["text"] == "Hello" for u in updates(stream, reply_id)))
        # From another thread, as a request to any server would ask.
        asked = await in_thread(lambda: chat.post("/api/chatbot/stop", {"messageId": reply_id}).status_code)
        return asked, await writing

    asked, outcome = on_a_loop(converse)
    assert asked == 204
    assert WaitsForStopProvider.closed.is_set(), "the provider's stream was closed"
    assert outcome["status"] == "stopped"
    reply.refresh_from_db()
    assert (reply.status, reply.text) == ("stopped", "Hello")
    assert updates(stream, reply_id)[-1] == {"text": "Hello", "generating": False}
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"


def test_a_reply_cut_off_by_the_server_stopping_is_settled_by_the_next_sweep(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": f"{__name__}.WaitsForStopProvider"}
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)

    async def converse() -> bool:
        writing = asyncio.ensure_future(awrite_reply(reply))
        await asyncio.to_thread(stream.wait_for, lambda: any(u["text"] == "Hello" for u in updates(stream, reply_id)))
        writing.cancel()  # what the loop does to its tasks when the server stops
        try:
            await writing
        except asyncio.CancelledError:
            return True
        return False

    assert on_a_loop(converse)
    reply.refresh_from_db()
    assert (reply.status, reply.text, reply.transport_unsettled) == ("stopped", "Hello", True)
    assert stream.messages[reply_id]["generating"] is True
    sweep_stale_replies()
    assert (stream.messages[reply_id]["text"], stream.messages[reply_id]["generating"]) == ("Hello", False)
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"
    assert not Message.objects.filter(transport_unsettled=True).exists()


def test_a_server_shutting_down_can_wait_for_the_replies_it_writes(stream, chat):
    reply = streaming_reply(chat)
    reply_id = str(reply.public_id)

    async def shut_down() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        # As the view does, from a thread serving the request.
        await in_thread(lambda: write_on_loop(loop, reply_id, "en", ""))
        return await finish_writing(WAIT), await finish_writing(WAIT)

    assert on_a_loop(shut_down) == (0, 0)
    assert Message.objects.get(pk=reply.pk).status == "done"
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"
    assert stream.messages[reply_id]["text"] == SCRIPT.text


class Lines(logging.Handler):
    """The log lines of the Stream writers (``chatbot.transports``) while it is installed, and an event
    set once one contains ``wanted``."""

    def __init__(self, wanted: str) -> None:
        super().__init__(logging.INFO)
        self.wanted = wanted
        self.lines: list[str] = []
        self.seen = threading.Event()
        self.logger = logging.getLogger("chatbot.transports")

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if self.wanted in line:
            self.seen.set()

    def __enter__(self) -> Lines:
        self.level = self.logger.level
        self.logger.addHandler(self)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


def asgi_post(text: str) -> Client:
    """``POST stream-message`` through the ASGI application, as a browser with a CSRF cookie sends it."""
    token = secrets.token_hex(16)
    headers = [
        (b"content-type", b"application/json"),
        (b"x-csrftoken", token.encode()),
        (b"cookie", f"csrftoken={token}".encode()),
    ]
    body = json.dumps({"text": text}).encode()
    return Client(asgi_application(threads=2), "POST", "/api/chatbot/stream-message", headers, body)


def test_the_asgi_application_writes_the_reply_on_its_loop_not_in_a_task(stream, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.fakes.stream_server.GatedProvider"}
    client = asgi_post("Do you sell tea?")

    async def converse(lines: Lines) -> str:
        await client.run()
        assert client.status == 202, client.content
        reply_id = json.loads(client.content)["replyId"]
        # Answered while the provider is still held after its first chunk: the request did not write
        # the reply (tests run tasks at once, inside the request that queues them).
        assert (await in_thread(lambda: Message.objects.get(public_id=reply_id).status)) == "streaming"
        assert await asyncio.to_thread(SCRIPT.waiting.wait, WAIT)
        SCRIPT.release.set()
        # The loop writes the rest: keep it running until the writer says it is done.
        assert await asyncio.to_thread(lines.seen.wait, WAIT)
        return reply_id

    try:
        with Lines("written on the event loop") as lines:
            reply_id = on_a_loop(lambda: converse(lines))
    finally:
        SCRIPT.release.set()
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    assert stream.messages[reply_id]["generating"] is False
    assert stream.event_types(reply_id) == ["AI_STATE_THINKING", "AI_STATE_GENERATING", "ai_indicator.clear"]
    assert Message.objects.get(public_id=reply_id).status == "done"
    written = [line for line in lines.lines if reply_id in line]
    assert len(written) == 1, "written once, by the loop, and by no task"
    assert written[0].startswith(f"Stream reply {reply_id} written on the event loop: ")


def test_the_asgi_application_posts_a_handoff_notice_on_its_loop(stream):
    client = asgi_post("talk to a human")

    async def converse(lines: Lines) -> str:
        await client.run()
        assert client.status == 202, client.content
        assert await asyncio.to_thread(lines.seen.wait, WAIT)
        return json.loads(client.content)["replyId"]

    with Lines("posted on the event loop") as lines:
        notice_id = on_a_loop(lambda: converse(lines))
    assert [line for line in lines.lines if notice_id in line] == [
        f"Stream notice {notice_id} posted on the event loop"
    ]
    assert "team" in stream.messages[notice_id]["text"]
    assert stream.messages[notice_id]["generating"] is False
    assert Message.objects.get(public_id=notice_id).external_id == notice_id
    assert SCRIPT.sent == []
