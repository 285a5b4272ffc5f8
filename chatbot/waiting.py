"""What a visitor waiting for a person is told, and the email a guest leaves for the reply.

The expected wait comes from business hours (``chatbot.business_hours``): while staff are in, "We
usually reply within ..." (``STAFF_REPLY_MINUTES``); outside hours the reply comes by email. A guest
has no account email, so the widget asks for one; it is kept on the conversation for staff.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chatbot.business_hours import staff_available
from chatbot.conf import chatbot_settings
from chatbot.models import Conversation

WITH_PEOPLE = (Conversation.State.WAITING, Conversation.State.STAFF)


def expected_wait(minutes: int) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("We usually reply within %(n)d hour.", "We usually reply within %(n)d hours.", hours) % {
            "n": hours
        }
    return ngettext("We usually reply within %(n)d minute.", "We usually reply within %(n)d minutes.", minutes) % {
        "n": minutes
    }


def waiting_status(conversation: Conversation | None) -> dict[str, Any]:
    """The widget's header and email form for ``conversation``, in the active language.

    ``{"state", "title", "wait", "open", "email"}``: ``title`` and ``wait`` are empty unless a person
    is wanted or answering; ``email`` is only there for a guest (``{"value", "label", "save", "saved"}``).
    """
    state = conversation.state if conversation is not None else None
    if state not in WITH_PEOPLE:
        return {"state": state, "title": "", "wait": "", "open": None, "email": None}
    assert conversation is not None
    open_now = staff_available()
    with_staff = state == Conversation.State.STAFF
    title = _("You're chatting with our team") if with_staff else _("Waiting for a person")
    minutes = chatbot_settings.STAFF_REPLY_MINUTES
    wait = expected_wait(minutes) if open_now else _("We're offline; we'll reply by email.")
    email = None
    if conversation.user_id is None:
        email = {
            "value": conversation.contact_email,
            "label": _("Your email, for our reply"),
            "save": _("Save"),
            "saved": _("We'll reply to %(email)s.") % {"email": conversation.contact_email}
            if conversation.contact_email
            else "",
        }
    return {"state": state, "title": title, "wait": wait, "open": open_now, "email": email}
