"""Writing the assistant's reply into the visitor's Stream channel, the way Stream's AI UI expects it.

The sequence for one reply: ``ai_indicator.update`` THINKING, an empty ``ai_generated`` message from
the assistant, GENERATING when the first text arrives, partial updates of the message throttled by
time, one unconditional final update, then ``ai_indicator.clear`` (or AI_STATE_ERROR with a readable
message). The provider side is :func:`chatbot.relay.relay_reply`; this module only consumes its events.

Every message we write carries our own id (the reply's ``public_id``), so a retried task updates the
message it created instead of posting a second one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from chatbot import replies
from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.language import answer_language
from chatbot.models import Message
from chatbot.relay import Turn, relay_reply
from chatbot.tasks import task
from chatbot.transports.stream.client import StreamError, StreamRateLimited, StreamUnavailable
from chatbot.transports.stream.ids import visitor_for
from chatbot.transports.stream.writer import ERROR, GENERATING, THINKING, ReplyWriter, take_update

logger = logging.getLogger(__name__)

# Back-off after a 429 or outage on a partial update; the final update is retried separately.
_PARTIAL_BACKOFF = 5.0
_FINAL_ATTEMPTS = 3


def _with_retries(operation: Any, attempts: int = _FINAL_ATTEMPTS) -> None:
    delay = 0.25
    for attempt in range(attempts):
        try:
            operation()
            return
        except (StreamUnavailable, StreamRateLimited):
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2


def _fail_row(message: Message, code: str) -> None:
    replies.fail(Message.objects.filter(pk=message.pk), code)


def _turn_for(reply: Message, ui_language: str, page: str = "") -> Turn | None:
    conversation = reply.conversation
    question = conversation.messages.filter(role=Message.Role.USER, id__lt=reply.id).order_by("-id").first()
    if question is None:
        return None
    return Turn(
        conversation=conversation,
        question=question,
        reply=reply,
        visitor=visitor_for(conversation),
        language=answer_language(question.text),
        ui_language=ui_language,
        page=page,
    )


def write_reply(reply: Message, ui_language: str = "en", page: str = "") -> dict[str, Any]:
    """Run the provider for a streaming ``reply`` and write it into Stream; returns counters for the log."""
    turn = _turn_for(reply, ui_language, page)
    if turn is None:
        _fail_row(reply, "no_question")
        return {"partial_updates": 0, "status": "error"}
    writer = ReplyWriter(reply)
    interval = float(chatbot_settings.STREAM_CHAT_UPDATE_INTERVAL)
    try:
        _with_retries(lambda: writer.indicator(THINKING))
        _with_retries(writer.create)
    except ChatbotError as exc:
        # Nothing reached the channel: the provider is not run, and the row says why.
        _fail_row(reply, exc.code)
        raise
    Message.objects.filter(pk=reply.pk).update(external_id=writer.id)
    text = ""
    final: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    generating = False
    last_write = time.monotonic()
    quiet_until = 0.0
    for name, data in relay_reply(turn):
        if name == "delta":
            text += data["text"]
            now = time.monotonic()
            if not generating:
                generating = True
                try:
                    writer.indicator(GENERATING)
                except ChatbotError:
                    quiet_until = now + _PARTIAL_BACKOFF
            if now - last_write >= interval and now >= quiet_until and take_update(partial=True):
                try:
                    writer.update(text, generating=True)
                    writer.partial_updates += 1
                    last_write = now
                except (StreamUnavailable, StreamRateLimited, StreamError):
                    # Partial updates are only a preview; the final update carries the whole text.
                    quiet_until = now + _PARTIAL_BACKOFF
        elif name == "done":
            final = data
        elif name == "error":
            error = data
    outcome = {"partial_updates": writer.partial_updates, "status": (final or {}).get("status", "error")}
    try:
        if error is not None:
            _settle(writer, text or error["message"], error["message"])
        else:
            _settle(writer, (final or {}).get("text", text))
    except ChatbotError as exc:
        # The stored reply is complete; Stream still shows it being written. The next sweep (the next
        # message or reply task) writes the final state again.
        Message.objects.filter(pk=reply.pk).update(transport_unsettled=True)
        logger.warning("Final Stream update of reply %s failed (%s); it will be written again", reply.pk, exc.code)
        outcome["unsettled"] = True
    return outcome


def _settle(writer: ReplyWriter, text: str, error_message: str = "", attempts: int = _FINAL_ATTEMPTS) -> None:
    """The reply's final state in Stream: its whole text, no longer generating, the indicator ended."""
    _with_retries(lambda: writer.update(text, generating=False), attempts)
    if error_message:
        _with_retries(lambda: writer.indicator(ERROR, error_message), attempts)
    else:
        _with_retries(writer.clear, attempts)


def settle_unsettled_replies(limit: int = 5) -> int:
    """Write the final state of replies whose final Stream update failed; returns how many now are.

    It runs inside requests, so each reply gets one attempt, and the first refusal ends the round.
    """
    settled = 0
    unsettled = Message.objects.filter(transport_unsettled=True).select_related("conversation")[:limit]
    for message in unsettled:
        failed = message.status == Message.Status.ERROR
        notice = _("The answer could not be completed. Please try again.") if failed else ""
        try:
            _settle(ReplyWriter(message), message.text or notice, notice, attempts=1)
        except ChatbotError as exc:
            logger.info("Stream still refuses the final state of reply %s: %s", message.public_id, exc.code)
            break
        Message.objects.filter(pk=message.pk).update(transport_unsettled=False)
        settled += 1
    return settled


def post_finished(message: Message) -> None:
    """Post an already finished assistant message (a handoff notice) with its own id."""
    writer = ReplyWriter(message)
    _with_retries(lambda: writer.create(message.text, generating=False))
    Message.objects.filter(pk=message.pk).update(external_id=writer.id)


def sweep_stale_replies() -> int:
    """Replies left "streaming" by a process that died: mark them failed here and in Stream. Replies
    whose final update failed get it written again."""
    settle_unsettled_replies()
    stale = list(
        replies.abandoned(Message.objects.filter(role=Message.Role.ASSISTANT))
        .exclude(conversation__stream_channel_id="")
        .select_related("conversation")[:20]
    )
    swept = 0
    for message in stale:
        if not replies.fail(Message.objects.filter(pk=message.pk), replies.INTERRUPTED):
            continue  # another worker got there first
        swept += 1
        text = _("The answer was interrupted. Please ask again.")
        try:
            _settle(ReplyWriter(message), message.text or text, text, attempts=1)
        except ChatbotError as exc:
            # The message may never have reached Stream; the row is what matters.
            logger.info("Could not mark interrupted reply %s in Stream: %s", message.public_id, exc.code)
    return swept


@task()
def stream_reply(message_id: str, ui_language: str = "en", page: str = "") -> None:
    """Background task: write assistant message ``message_id`` (a reply or a notice) into Stream."""
    sweep_stale_replies()
    message = (
        Message.objects.select_related("conversation", "conversation__user")
        .filter(public_id=message_id, role=Message.Role.ASSISTANT)
        .first()
    )
    if message is None or not message.conversation.stream_channel_id:
        return
    with translation.override(ui_language):
        if message.status == Message.Status.STREAMING:
            outcome = write_reply(message, ui_language, page)
            logger.info("Stream reply %s: %s", message_id, outcome)
        elif not message.external_id:
            post_finished(message)
