"""Who is chatting: always derived from the session, never from anything the client sends.

A logged-in visitor is their user. A guest gets a random id kept in the session, signed so a
session backend that stores data client-side cannot be fed a chosen id. When a guest logs in, their
conversations move to their account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal, overload

from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.dispatch import receiver
from django.http import HttpRequest

SESSION_KEY = "chatbot_guest"
_SALT = "chatbot.identity.guest"


@dataclass(frozen=True)
class Visitor:
    """The person on the other side of the chat."""

    user: Any | None
    guest_id: str

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def key(self) -> str:
        """A stable pseudonymous id, safe to send to providers and Stream."""
        return f"user-{self.user.pk}" if self.user is not None else f"guest-{self.guest_id}"

    @property
    def display_name(self) -> str:
        if self.user is not None:
            return self.user.get_full_name() or self.user.get_username()
        return "Guest"

    @property
    def email(self) -> str:
        return getattr(self.user, "email", "") if self.user is not None else ""


def _session_guest_id(request: HttpRequest) -> str | None:
    signed = request.session.get(SESSION_KEY)
    if not signed:
        return None
    try:
        return signing.loads(signed, salt=_SALT)
    except signing.BadSignature:
        return None


@overload
def get_visitor(request: HttpRequest, *, create: Literal[True] = ...) -> Visitor: ...


@overload
def get_visitor(request: HttpRequest, *, create: bool) -> Visitor | None: ...


def get_visitor(request: HttpRequest, *, create: bool = True) -> Visitor | None:
    """The visitor of this request; a guest id is made (and the session saved) only when ``create``."""
    user = getattr(request, "user", None)
    guest_id = _session_guest_id(request)
    if user is not None and user.is_authenticated:
        return Visitor(user=user, guest_id=guest_id or "")
    if guest_id is None:
        if not create:
            return None
        guest_id = uuid.uuid4().hex
        request.session[SESSION_KEY] = signing.dumps(guest_id, salt=_SALT)
    return Visitor(user=None, guest_id=guest_id)


@receiver(user_logged_in)
def adopt_guest_conversations(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A guest who logs in keeps the conversation they had before."""
    if request is None or not hasattr(request, "session"):
        return
    guest_id = _session_guest_id(request)
    if not guest_id:
        return
    from chatbot.models import Conversation

    Conversation.objects.filter(user__isnull=True, guest_id=guest_id).update(user=user)
