"""The open conversation's page keeps itself current: new messages and the state, as JSON for staff.

The admin and the demo dashboard each serve :func:`transcript_since` from a view that checks the same
permission as their conversation page; ``chatbot/static/chatbot/staff/inbox.js`` polls it.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from django.template.loader import render_to_string

from chatbot.models import Conversation, Message


def resume_after(messages: list[Message], after: int = 0) -> int:
    """Where the next poll starts: after the last message, or before the first reply still streaming
    (sent again until it is finished, so the page shows its final text)."""
    streaming = [m.pk for m in messages if m.status == Message.Status.STREAMING]
    if streaming:
        return streaming[0] - 1
    return messages[-1].pk if messages else after


def waiting_count() -> int:
    """Conversations waiting for a person (not yet answered by staff)."""
    return Conversation.objects.filter(state=Conversation.State.WAITING).count()


def live_response(conversation: Conversation, after: str | None) -> JsonResponse:
    """The answer to a poll of ``conversation``'s page; the caller has checked the staff member may
    read it. ``after`` must be a message's primary key (400 otherwise)."""
    cursor = (after or "0").strip()
    if not cursor.isdigit() or len(cursor) > 18:
        return JsonResponse({"error": {"code": "invalid", "message": "after must be a message id."}}, status=400)
    return JsonResponse(transcript_since(conversation, int(cursor)))


def transcript_since(conversation: Conversation, after: int) -> dict[str, Any]:
    """Messages after ``after`` rendered as the page renders them, the state and the waiting count."""
    messages = list(conversation.messages.select_related("author").filter(id__gt=after).order_by("id"))
    cursor = resume_after(messages, after)
    return {
        "state": conversation.state,
        "stateLabel": str(conversation.get_state_display()),
        "after": cursor,
        "waiting": waiting_count(),
        "messages": [
            {"id": m.pk, "html": render_to_string("admin/chatbot/includes/message.html", {"message": m})}
            for m in messages
        ],
    }
