"""A transport for tests, selected by dotted path like a shop's own transport would be."""

from __future__ import annotations

from typing import Any

from chatbot.exceptions import ChatbotError
from chatbot.health import CheckOutcome
from chatbot.models import Conversation, Message
from chatbot.transports.builtin import BuiltinTransport


class NoticeBoard:
    """Where the transport below shows staff replies: an outside service, kept in memory here."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.posts: dict[str, list[str]] = {}
        self.up = True


BOARD = NoticeBoard()


class NoticeBoardTransport(BuiltinTransport):
    """The builtin transport whose conversations are also shown on a notice board."""

    name = "notice_board"

    def post_staff_message(self, conversation: Conversation, message: Message) -> None:
        if not BOARD.up:
            raise ConnectionError("the notice board is down")
        BOARD.posts.setdefault(str(conversation.public_id), []).append(message.text)

    def forget(self, conversation: Conversation) -> bool:
        if not BOARD.up:
            raise ChatbotError("notice board down")
        return BOARD.posts.pop(str(conversation.public_id), None) is not None

    def forget_user(self, user: Any) -> None:
        for conversation in Conversation.objects.filter(user=user):
            BOARD.posts.pop(str(conversation.public_id), None)

    def health(self) -> CheckOutcome:
        return CheckOutcome(True) if BOARD.up else CheckOutcome(False, "board_down", "connection refused")
