"""Telling staff that a visitor asked for a human.

A receiver on :data:`chatbot.signals.handoff_requested` emails ``CHATBOT["STAFF_EMAILS"]`` once the
handoff is committed, with a link to the conversation's admin page. Other channels (Slack, SMS...)
hook the same signal. The email is a task (:mod:`chatbot.tasks`) that a worker sends, never the
visitor's request: the commit happens before their acknowledgement is sent, so a slow mail server
would hold it back.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse

from chatbot.business_hours import staff_available
from chatbot.conf import chatbot_settings
from chatbot.signals import handoff_requested
from chatbot.tasks import task

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "testserver")


def site_url() -> str:
    """The shop's absolute base URL for links in emails, without a trailing slash."""
    if chatbot_settings.SITE_URL:
        return chatbot_settings.SITE_URL.rstrip("/")
    if apps.is_installed("django.contrib.sites"):
        from django.contrib.sites.models import Site

        domain = Site.objects.get_current().domain
        scheme = "http" if domain.split(":")[0] in _LOCAL_HOSTS else "https"
        return f"{scheme}://{domain}"
    return ""


def conversation_admin_url(conversation_id: int) -> str:
    try:
        path = reverse("admin:chatbot_conversation_change", args=[conversation_id])
    except NoReverseMatch:
        return ""
    return f"{site_url()}{path}"


def handoff_email(conversation: Any) -> tuple[str, str]:
    """Subject and body of the staff notification; the visitor's last words are already masked."""
    from chatbot.models import Message

    who = conversation.user.get_username() if conversation.user else f"guest {conversation.guest_id[:8]}"
    last = (
        conversation.messages.filter(role=Message.Role.USER).order_by("-id").values_list("text", flat=True).first()
        or ""
    )
    shop = chatbot_settings.SHOP_NAME or "the shop"
    subject = f"[{shop}] A visitor is waiting for a human: {who}"
    lines = [
        f"{who} asked to talk to a member of staff.",
        "",
        f"Last message: {last[:500]}",
        "",
        f"Reply here: {conversation_admin_url(conversation.pk)}",
    ]
    if not staff_available():
        lines += ["", "This came in outside business hours; the assistant keeps answering until someone replies."]
    return subject, "\n".join(lines)


@task()
def send_handoff_email(conversation_id: int) -> int:
    """Email the staff list about one conversation; returns how many messages were sent."""
    from chatbot.models import Conversation

    recipients = list(chatbot_settings.STAFF_EMAILS or [])
    conversation = Conversation.objects.select_related("user").filter(pk=conversation_id).first()
    if not recipients or conversation is None:
        return 0
    subject, body = handoff_email(conversation)
    return send_mail(subject, body, None, recipients)


@receiver(handoff_requested, dispatch_uid="chatbot.notifications.email_staff")
def email_staff(sender: Any, conversation: Any, **kwargs: Any) -> None:
    if not chatbot_settings.STAFF_EMAILS:
        return
    conversation_id = conversation.pk
    # A failure is logged by the task; the handoff stands either way and the inbox shows it.
    transaction.on_commit(lambda: send_handoff_email.enqueue(conversation_id))
