"""A reply's states and transitions (``chatbot.replies``): each way out of "streaming" is taken once,
never undoes a final state, and "abandoned" is judged by when the reply was last seen alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatbot import replies
from chatbot.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation():
    return Conversation.objects.create(guest_id="replies")


def _reply(conversation, status="streaming", age: float = 0.0) -> Message:
    reply = Message.objects.create(conversation=conversation, role="assistant", status=status, text="so far")
    if age:
        Message.objects.filter(pk=reply.pk).update(updated=timezone.now() - timedelta(seconds=age))
    return reply


def _state(message: Message) -> tuple[str, str]:
    message.refresh_from_db()
    return message.status, message.error_code


def test_a_reply_leaves_streaming_once_and_a_final_state_is_never_undone(conversation):
    reply = _reply(conversation)
    done = _reply(conversation, status="done")
    assert replies.fail(Message.objects.filter(pk__in=[reply.pk, done.pk]), "upstream_error") == 1
    assert _state(reply) == ("error", "upstream_error")
    assert _state(done) == ("done", "")
    replies.stop_unstarted(reply)
    assert _state(reply) == ("error", "upstream_error")


def test_an_unstarted_reply_is_stopped_empty_handed(conversation):
    reply = _reply(conversation)
    replies.stop_unstarted(reply)
    assert _state(reply) == ("stopped", "")


def test_only_replies_not_seen_alive_for_the_abandon_window_are_interrupted(conversation):
    silent = _reply(conversation, age=replies.abandoned_after() + 1)
    alive = _reply(conversation, age=replies.abandoned_after() - 5)
    finished_long_ago = _reply(conversation, status="done", age=replies.abandoned_after() + 1)
    assert replies.interrupt_abandoned(conversation.messages.all()) == 1
    assert _state(silent) == ("error", replies.INTERRUPTED)
    assert _state(alive) == ("streaming", "")
    assert _state(finished_long_ago) == ("done", "")


def test_the_final_state_keeps_at_most_six_suggestions_and_products(conversation):
    reply = _reply(conversation)
    replies.set_final(
        reply,
        text="Here",
        status="done",
        suggestions=[f"s{i}" for i in range(9)],
        products=[{"id": i} for i in range(9)],
    )
    replies.store_final(reply)
    reply.refresh_from_db()
    assert (reply.text, reply.status, len(reply.suggestions), len(reply.products)) == ("Here", "done", 6, 6)


def test_a_stop_request_flags_only_streaming_replies(conversation):
    streaming = _reply(conversation)
    done = _reply(conversation, status="done")
    assert replies.request_stop(conversation.messages.all()) == [streaming.pk]
    assert Message.objects.get(pk=streaming.pk).stop_requested
    assert not Message.objects.get(pk=done.pk).stop_requested
