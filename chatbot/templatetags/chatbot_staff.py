"""Staff pages: ``{{ message.text|chatbot_markdown }}`` shows staff what the visitor saw, safely;
``{% chatbot_waiting %}`` shows how many conversations wait for a person (e.g. on the admin index)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString

from chatbot.staff.live import waiting_count
from chatbot.staff.transcript import render_markdown

register = template.Library()


@register.filter
def chatbot_markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.inclusion_tag("admin/chatbot/includes/waiting.html", takes_context=True)
def chatbot_waiting(context: template.Context) -> dict[str, Any]:
    """A link to the conversations waiting for a person, with their number; only for staff who may
    read conversations (nothing for anyone else, and no query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("chatbot.view_conversation"):
        return {"show": False}
    try:
        url = reverse("admin:chatbot_conversation_changelist") + "?state__exact=waiting"
    except NoReverseMatch:
        url = ""
    return {"show": True, "count": waiting_count(), "url": url}
