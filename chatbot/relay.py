"""One visitor message in, one reply out: ``begin_turn`` stores the question, ``relay_reply`` runs the
provider and yields transport-neutral events while keeping the database in step.

Events are ``(name, data)`` pairs: ``delta`` ``{"text"}`` while the reply grows, then exactly one of
``done`` (the stored reply) or ``error`` (``{"code", "message"}``). Whatever happens (the visitor stops,
disconnects, the provider fails, the process is asked to stop) the reply row ends in a final state
with the text produced so far (``chatbot.replies`` holds a reply's states and how it moves between them).

A turn, read from the top: the view calls ``begin_turn``, then iterates ``relay_reply``, which asks the
provider and hands each event to the transport; at the end ``_finish`` gives the reply its final state,
adds a human's offer when the assistant is not helping (``chatbot.handoff``), and stores it. Nothing
else changes the reply: receivers of ``reply_finished`` only hear of it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast, overload

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from chatbot import replies
from chatbot.conf import chatbot_settings
from chatbot.connections import (
    CONNECTION_ERRORS,
    drop_connection,
    once_more_on_a_new_connection,
    release_connection,
)
from chatbot.exceptions import ChatbotError, ProviderError, ServiceUnavailable
from chatbot.handoff import asks_for_human, bot_answers, handoff_notice, offer_human_when_stuck, request_handoff
from chatbot.identity import Visitor
from chatbot.language import active_language, answer_language
from chatbot.masking import mask_secrets
from chatbot.models import Conversation, Message
from chatbot.providers import get_provider
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, Suggestions
from chatbot.shop import get_shop
from chatbot.shop.base import ProductInfo, ShopAdapter
from chatbot.signals import message_received, reply_finished
from chatbot.stops import stop_watcher

logger = logging.getLogger(__name__)


class ReplyInProgress(ChatbotError):
    code = "reply_in_progress"
    default_message = _("Please wait for the current answer to finish, or stop it first.")
    status = 409


@dataclass
class Turn:
    conversation: Conversation
    question: Message
    #: The assistant's reply, created as "streaming"; None when the conversation is with staff.
    reply: Message | None
    #: Set when this message handed the conversation to staff.
    notice: Message | None = None
    visitor: Visitor | None = None
    language: str = "en"
    ui_language: str = "en"
    #: The storefront path the visitor asked from ("" when unknown).
    page: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@overload
def open_conversation(visitor: Visitor, *, create: Literal[True]) -> Conversation: ...


@overload
def open_conversation(visitor: Visitor, *, create: bool) -> Conversation | None: ...


def open_conversation(visitor: Visitor, *, create: bool) -> Conversation | None:
    conversation = Conversation.objects.for_visitor(visitor).open().order_by("-updated", "-id").first()
    if conversation is None and create:
        conversation = Conversation.objects.create(user=visitor.user, guest_id="" if visitor.user else visitor.guest_id)
    return conversation


def begin_turn(
    visitor: Visitor, text: str, *, external_id: str = "", page: str = "", question_id: uuid.UUID | None = None
) -> Turn:
    """Store the visitor's message and decide who answers it. Raises ReplyInProgress.

    ``question_id``: the public id to store the message under, so that a caller whose connection was
    lost during the commit can tell (:func:`committed_turn`) whether it was stored."""
    language = answer_language(text)
    masked = mask_secrets(text)
    with transaction.atomic():
        # Found and locked in one query, so two tabs cannot start two replies at once.
        conversation = (
            Conversation.objects.for_visitor(visitor).open().order_by("-updated", "-id").select_for_update().first()
        )
        if conversation is None:
            conversation = open_conversation(visitor, create=True)
        elif _check_room(conversation) >= chatbot_settings.MAX_MESSAGES_PER_CONVERSATION:
            conversation.state = Conversation.State.CLOSED
            conversation.save(update_fields=["state", "updated"])
            conversation = open_conversation(visitor, create=True)
        question = Message(conversation=conversation, role=Message.Role.USER, text=masked, external_id=external_id)
        if question_id is not None:
            question.public_id = question_id
        turn = Turn(
            conversation=conversation,
            question=question,
            reply=None,
            visitor=visitor,
            language=language,
            ui_language=active_language(),
            page=page,
        )
        if asks_for_human(text) or not bot_answers(conversation):
            question.save(force_insert=True)
            if request_handoff(conversation):
                turn.notice = Message.objects.create(
                    conversation=conversation,
                    role=Message.Role.ASSISTANT,
                    kind=Message.Kind.NOTICE,
                    text=handoff_notice(language),
                )
        else:
            turn.reply = Message(
                conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
            )
            # The question and the reply row in one INSERT (PostgreSQL numbers them in this order).
            Message.objects.bulk_create([question, turn.reply])
            Conversation.objects.filter(pk=conversation.pk).update(updated=timezone.now())
    message_received.send(sender=Message, message=question, conversation=conversation)
    return turn


def committed_turn(visitor: Visitor, question_id: uuid.UUID, *, page: str = "") -> Turn | None:
    """The turn :func:`begin_turn` stored under ``question_id``, or None if it never committed."""
    question = (
        Message.objects.filter(public_id=question_id, conversation__in=Conversation.objects.for_visitor(visitor))
        .select_related("conversation")
        .first()
    )
    if question is None:
        return None
    # begin_turn stores the reply (or the handoff notice) right after the question.
    later = question.conversation.messages.filter(id__gt=question.id, role=Message.Role.ASSISTANT)
    answer = later.order_by("id").first()
    streaming = answer is not None and answer.status == Message.Status.STREAMING
    return Turn(
        conversation=question.conversation,
        question=question,
        reply=answer if streaming else None,
        notice=None if streaming else answer,
        visitor=visitor,
        language=answer_language(question.text),
        ui_language=active_language(),
        page=page,
    )


def _check_room(conversation: Conversation) -> int:
    """How many messages ``conversation`` holds; raises ReplyInProgress while a reply streams in it.

    One query on the common path. A streaming reply not seen alive for longer than the read timeout
    (plus a margin; ``chatbot.stops`` keeps live ones fresh) belongs to a process that died: it is
    marked interrupted and the conversation carries on.
    """
    streaming = Q(status=Message.Status.STREAMING)
    counts = conversation.messages.aggregate(
        total=Count("id"),
        streaming=Count("id", filter=streaming),
        live=Count("id", filter=streaming & Q(updated__gte=replies.abandoned_before())),
    )
    if counts["streaming"] > counts["live"]:
        replies.interrupt_abandoned(conversation.messages.all())
    if counts["live"]:
        raise ReplyInProgress()
    return counts["total"]


def history_for(question: Message) -> list[tuple[str, str]]:
    turns = chatbot_settings.HISTORY_TURNS * 2
    earlier = (
        question.conversation.messages.filter(id__lt=question.id)
        .exclude(text="")
        .exclude(status__in=[Message.Status.STREAMING, Message.Status.ERROR])
        .exclude(role=Message.Role.SYSTEM)
        .order_by("-id")
        .values_list("role", "text")[:turns]
    )
    return [(role, text) for role, text in reversed(earlier)]


def page_product(shop: ShopAdapter, page: str) -> ProductInfo | None:
    """The product on the page the visitor asked from; a page the shop cannot read is no context."""
    if not page:
        return None
    try:
        return shop.product_for_path(page)
    except Exception:
        logger.warning("The shop adapter could not resolve the visitor's page", exc_info=True)
        return None


def prepare(turn: Turn) -> tuple[ChatRequest, Provider]:
    """What the provider is given for ``turn`` (the history is read here), and the provider: the
    database work before a reply starts (on the event loop, a caller already in a thread, the view,
    may do it and hand it to :func:`chatbot.arelay.arelay_reply`)."""
    assert turn.visitor is not None  # begin_turn and the Stream relay always name the visitor
    shop = get_shop()
    request = ChatRequest(
        text=turn.question.text,
        visitor=turn.visitor,
        conversation=turn.conversation,
        shop=shop,
        # A read: on a connection lost since the turn began it is simply read again.
        history=once_more_on_a_new_connection(lambda again: history_for(turn.question)),
        language=turn.language,
        state=dict(turn.conversation.provider_state),
    )
    request.page_product = page_product(shop, turn.page)
    return request, get_provider()


def relay_reply(turn: Turn) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the provider for ``turn`` and yield ``(event, data)``; the reply row is always finished,
    and the last event is ``done`` or ``error`` whatever fails underneath."""
    if turn.reply is None:
        yield "done", _staff_done(turn)
        return
    reply = turn.reply
    outcome = _Outcome()
    request: ChatRequest | None = None
    try:
        request, provider = prepare(turn)
        outcome.provider = provider.name
        with stop_watcher.watch(reply.pk) as stopped:
            release_connection()
            events = cast(Generator[Any, None, None], provider.stream(request))
            try:
                for event in events:
                    release_connection()
                    if stopped.is_set() or not outcome.take(event):
                        break
                    if isinstance(event, Delta) and event.text:
                        yield "delta", {"text": event.text}
                if stopped.is_set():
                    outcome.status = Message.Status.STOPPED
            finally:
                events.close()
    except GeneratorExit:
        outcome.status = Message.Status.STOPPED
        raise
    except Exception as exc:
        outcome.failed(exc, reply)
    finally:
        settle(turn, request, outcome)
        # The reply is stored; the rest of this request is writing bytes. A thread that kept its
        # connection (CONN_MAX_AGE) would hold one per finished stream until it served another request:
        # at 200 conversations ending together that ran PostgreSQL out of connections.
        release_connection()
    yield outcome.last_event(turn)


class _Outcome:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.suggestions: list[str] = []
        self.products: list[dict[str, Any]] = []
        self.status = Message.Status.DONE
        self.error: ChatbotError | None = None
        self.provider = ""

    def fail(self, error: ChatbotError) -> None:
        self.status = Message.Status.ERROR
        self.error = error

    def take(self, event: Any) -> bool:
        """Record one provider event; False once the reply is complete (:class:`Done`)."""
        if isinstance(event, Delta) and event.text:
            self.parts.append(event.text)
        elif isinstance(event, Suggestions):
            self.suggestions = list(event.items)
        elif isinstance(event, Products):
            self.products = list(event.items)
        elif isinstance(event, Done):
            return False
        return True

    def failed(self, exc: Exception, reply: Message) -> None:
        """Record why the reply failed, said once in the log; called where ``exc`` was caught."""
        if isinstance(exc, ProviderError):
            logger.warning("Provider %s failed (%s): %s", self.provider, exc.code, exc.detail)
            self.fail(exc)
        elif isinstance(exc, ChatbotError):
            logger.warning("Reply failed (%s): %s", exc.code, exc.detail)
            self.fail(exc)
        elif isinstance(exc, CONNECTION_ERRORS):
            logger.warning("Reply %s lost its database connection: %s", reply.pk, type(exc).__name__)
            self.fail(ServiceUnavailable())
        else:
            logger.exception("Unexpected error while relaying a reply")
            self.fail(ChatbotError("unexpected"))

    def last_event(self, turn: Turn) -> tuple[str, dict[str, Any]]:
        """The reply's last event: ``error`` in the visitor's language, or ``done`` with the stored reply."""
        reply = turn.reply
        assert reply is not None
        if self.error is None:
            return "done", reply.as_dict()
        with translation.override(turn.ui_language):
            message = self.error.message
        return "error", {"code": self.error.code, "message": message, "id": str(reply.public_id)}


def settle(turn: Turn, request: ChatRequest | None, outcome: _Outcome) -> None:
    """Store the reply's final state; a database that stayed away through every retry gets it once it
    is back, and the visitor is told it could not be kept now."""
    reply = turn.reply
    assert reply is not None  # only a turn the assistant answers is settled
    try:
        _finish_reliably(turn, request, outcome)
    except CONNECTION_ERRORS as exc:
        logger.warning("Reply %s could not be stored yet: %s", reply.pk, type(exc).__name__)
        replies.store_final_later(reply)
        outcome.fail(ServiceUnavailable())


#: Pauses before storing a finished reply again when the database refused or dropped the connection
#: (a server at its connection limit, a backend terminated during the stream).
_FINISH_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)


def _finish_reliably(turn: Turn, request: ChatRequest | None, outcome: _Outcome) -> None:
    # Streaming released the connection, so storing the reply opens a new one; a reply that could not
    # be stored would stay "streaming" and its text would be lost.
    assert turn.reply is not None  # only a turn the assistant answers is finished
    for delay in (*_FINISH_RETRY_DELAYS, None):
        try:
            _finish(turn, request, outcome)
            return
        except CONNECTION_ERRORS as exc:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("Storing reply %s failed (%s); retrying", turn.reply.pk, type(exc).__name__)
            drop_connection()
            time.sleep(delay)


def _finish(turn: Turn, request: ChatRequest | None, outcome: _Outcome) -> None:
    reply = turn.reply
    assert reply is not None  # only a turn the assistant answers is finished
    replies.set_final(
        reply,
        text="".join(outcome.parts),
        status=outcome.status,
        error_code=outcome.error.code if outcome.error else "",
        suggestions=outcome.suggestions,
        products=outcome.products,
    )
    # An assistant that is not helping offers a human: in the reply, or after it when it failed.
    offer = offer_human_when_stuck(reply, turn.question)
    if offer is None:
        replies.store_final(reply)
    else:
        # Together, so that storing again after a lost connection never posts the offer twice.
        with transaction.atomic():
            replies.store_final(reply)
            offer.save(force_insert=True)
    conversation = turn.conversation
    # begin_turn marked the conversation active; it is written again only when the provider's state
    # for it changed (its first reply, a Coze conversation id).
    fields = []
    if request is not None and request.state != conversation.provider_state:
        conversation.provider_state = request.state
        fields.append("provider_state")
    if outcome.provider and conversation.provider != outcome.provider:
        conversation.provider = outcome.provider
        fields.append("provider")
    if fields:
        conversation.save(update_fields=[*fields, "updated"])
    reply_finished.send(sender=Message, message=reply, conversation=conversation, question=turn.question)


def _staff_done(turn: Turn) -> dict[str, Any]:
    data: dict[str, Any] = {"id": None, "role": "assistant", "text": "", "status": "waiting"}
    if turn.notice is not None:
        data = turn.notice.as_dict()
    data["conversation"] = {"state": turn.conversation.state}
    return data
