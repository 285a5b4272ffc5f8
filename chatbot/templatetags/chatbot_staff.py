"""``{{ message.text|chatbot_markdown }}``: a transcript shows staff what the visitor saw, safely."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from chatbot.staff.transcript import render_markdown

register = template.Library()


@register.filter
def chatbot_markdown(text: str) -> SafeString:
    return render_markdown(text)
