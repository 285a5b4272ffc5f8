"""One visitor message in, one reply out: ``begin_turn`` stores the question, ``relay_reply`` runs the
provider and yields transport-neutral events while keeping the database in step.

Events are ``(name, data)`` pairs: ``delta`` ``{"text"}`` while the reply grows, then exactly one of
``done`` (the stored reply) or ``error`` (``{"code", "message"}``). Whatever happens (the visitor stops,
disconnects, the provider fails, the process is asked to stop) the reply row ends in a final state
with the text produced so far.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast, overload

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError, ProviderError
from chatbot.handoff import asks_for_human, bot_answers, handoff_notice, request_handoff
from chatbot.identity import Visitor
from chatbot.masking import mask_secrets
from chatbot.models import Conversation, Message
from chatbot.providers import get_provider
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Suggestions
from chatbot.shop import get_shop
from chatbot.shop.base import ProductInfo, ShopAdapter
from chatbot.signals import message_received, reply_finished
from chatbot.stops import stop_watcher
from chatbot.sweep import INTERRUPTED, abandoned_before

logger = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class ReplyInProgress(ChatbotError):
    code = "reply_in_progress"
    default_message = _("Please wait for the current answer to finish, or stop it first.")
    status = 409


def answer_language(text: str) -> str:
    """Chinese when the visitor writes Chinese, else the site's active language."""
    if _CJK.search(text):
        return "zh-hans"
    return translation.get_language() or "en"


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
        conversation = Conversation.objects.create(
            user=visitor.user, guest_id="" if visitor.user else visitor.guest_id
        )
    return conversation


def begin_turn(visitor: Visitor, text: str, *, external_id: str = "", page: str = "") -> Turn:
    """Store the visitor's message and decide who answers it. Raises ReplyInProgress."""
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
        turn = Turn(
            conversation=conversation,
            question=question,
            reply=None,
            visitor=visitor,
            language=language,
            ui_language=translation.get_language() or "en",
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


def _check_room(conversation: Conversation) -> int:
    """How many messages ``conversation`` holds; raises ReplyInProgress while a reply streams in it.

    One query on the common path. A streaming reply not seen alive for longer than the read timeout
    (plus a margin; ``chatbot.stops`` keeps live ones fresh) belongs to a process that died: it is
    marked interrupted and the conversation carries on.
    """
    cutoff = abandoned_before()
    streaming = Q(status=Message.Status.STREAMING)
    counts = conversation.messages.aggregate(
        total=Count("id"),
        streaming=Count("id", filter=streaming),
        live=Count("id", filter=streaming & Q(updated__gte=cutoff)),
    )
    if counts["streaming"] > counts["live"]:
        conversation.messages.filter(streaming, updated__lt=cutoff).update(
            status=Message.Status.ERROR, error_code=INTERRUPTED
        )
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


def _release_connection() -> None:
    # A streaming reply can last a minute; holding a database connection for it would cap the number
    # of conversations at the server's connection limit. Inside a transaction (tests) it must stay.
    if connection.connection is not None and not connection.in_atomic_block:
        connection.close()


def relay_reply(turn: Turn) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the provider for ``turn`` and yield ``(event, data)``; the reply row is always finished."""
    if turn.reply is None:
        yield "done", _staff_done(turn)
        return
    reply = turn.reply
    assert turn.visitor is not None  # begin_turn and the Stream relay always name the visitor
    shop = get_shop()
    request = ChatRequest(
        text=turn.question.text,
        visitor=turn.visitor,
        conversation=turn.conversation,
        shop=shop,
        history=history_for(turn.question),
        language=turn.language,
        state=dict(turn.conversation.provider_state),
    )
    outcome = _Outcome()
    try:
        request.page_product = page_product(shop, turn.page)
        provider = get_provider()
        outcome.provider = provider.name
        with stop_watcher.watch(reply.pk) as stopped:
            _release_connection()
            events = cast(Generator[Any, None, None], provider.stream(request))
            try:
                for event in events:
                    _release_connection()
                    if stopped.is_set():
                        break
                    if isinstance(event, Delta) and event.text:
                        outcome.parts.append(event.text)
                        yield "delta", {"text": event.text}
                    elif isinstance(event, Suggestions):
                        outcome.suggestions = list(event.items)
                    elif isinstance(event, Products):
                        outcome.products = list(event.items)
                    elif isinstance(event, Done):
                        break
                if stopped.is_set():
                    outcome.status = Message.Status.STOPPED
            finally:
                events.close()
    except GeneratorExit:
        outcome.status = Message.Status.STOPPED
        raise
    except ProviderError as exc:
        logger.warning("Provider %s failed (%s): %s", outcome.provider, exc.code, exc.detail)
        outcome.fail(exc)
    except ChatbotError as exc:
        logger.warning("Reply failed (%s): %s", exc.code, exc.detail)
        outcome.fail(exc)
    except Exception:
        logger.exception("Unexpected error while relaying a reply")
        outcome.fail(ChatbotError("unexpected"))
    finally:
        _finish_reliably(turn, request, outcome)
        # The reply is stored; the rest of this request is writing bytes. A thread that kept its
        # connection (CONN_MAX_AGE) would hold one per finished stream until it served another request:
        # at 200 conversations ending together that ran PostgreSQL out of connections.
        _release_connection()
    if outcome.error is not None:
        with translation.override(turn.ui_language):
            message = outcome.error.message
        yield "error", {"code": outcome.error.code, "message": message, "id": str(reply.public_id)}
    else:
        yield "done", reply.as_dict()


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


#: Pauses before storing a finished reply again when the database refused or dropped the connection
#: (a server at its connection limit, a backend terminated during the stream).
_FINISH_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)


def _finish_reliably(turn: Turn, request: ChatRequest, outcome: _Outcome) -> None:
    # Streaming released the connection, so storing the reply opens a new one; a reply that could not
    # be stored would stay "streaming" and its text would be lost.
    assert turn.reply is not None  # only a turn the assistant answers is finished
    for delay in (*_FINISH_RETRY_DELAYS, None):
        try:
            _finish(turn, request, outcome)
            return
        except (OperationalError, InterfaceError) as exc:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("Storing reply %s failed (%s); retrying", turn.reply.pk, type(exc).__name__)
            connection.close()
            time.sleep(delay)


def _finish(turn: Turn, request: ChatRequest, outcome: _Outcome) -> None:
    reply = turn.reply
    assert reply is not None  # only a turn the assistant answers is finished
    reply.text = "".join(outcome.parts)
    reply.status = outcome.status
    reply.error_code = outcome.error.code if outcome.error else ""
    reply.suggestions = outcome.suggestions[:6]
    reply.products = outcome.products[:6]
    reply.save(update_fields=["text", "status", "error_code", "suggestions", "products", "updated"])
    conversation = turn.conversation
    # begin_turn marked the conversation active; it is written again only when the provider's state
    # for it changed (its first reply, a Coze conversation id).
    fields = []
    if request.state != conversation.provider_state:
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
