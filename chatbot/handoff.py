"""Handing a conversation to staff: recognising a request for a human before any provider is called
(so it works with every provider), the acknowledgement the visitor gets, and offering a human when the
assistant is clearly not helping.

Outside business hours (``chatbot.business_hours``) a handoff is still queued for staff, but the
assistant keeps answering until staff are in; the acknowledgement says when a human will reply.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from chatbot.business_hours import next_staff_time, staff_available
from chatbot.language import reply_language, written_language

# Phrases in English and Chinese; matched anywhere in the message, case-insensitively.
_HUMAN_PATTERNS = [
    r"\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s*one|somebody|the\s+)?"
    r"(human|person|people|agent|staff|someone|somebody|representative|real person|operator)\b",
    r"\b(human|live)\s+(agent|support|person|help|chat)\b",
    r"\b(real|actual)\s+(person|human)\b",
    r"\bcustomer\s+(service|support)\s+(agent|person|representative)\b",
    r"^\s*(agent|human|operator|representative)\s*[.!?]*\s*$",
    r"\bconnect me\b.*\b(agent|human|person|staff)\b",
    r"\b(i\s+)?(want|need|would like)\s+(to\s+talk\s+to\s+)?(a\s+)?(human|real person|live agent)\b",
    r"转人工",
    r"人工客服",
    r"人工服务",
    r"找人工",
    r"真人",
    r"客服人员",
    r"联系客服",
    r"我要人工",
]
_HUMAN = re.compile("|".join(f"(?:{p})" for p in _HUMAN_PATTERNS), re.IGNORECASE)

# Signs that the visitor is not being helped; a reply to such a message offers a human.
_FRUSTRATED = re.compile(
    r"\b(useless|unhelpful|not\s+(very\s+)?helpful|(doesn'?t|does\s+not|didn'?t|did\s+not)\s+help|"
    r"stupid|waste\s+of\s+time|ridiculous|you\s+(don'?t|do\s+not)\s+understand|not\s+what\s+i\s+asked)\b"
    r"|没用|没有用|垃圾|听不懂|答非所问|废物|太差|不管用",
    re.IGNORECASE,
)
# How replies that found nothing read (the local assistant's wording, and common model phrasings).
_NOT_FOUND = re.compile(
    r"\b(couldn'?t|could\s+not|can'?t|cannot|unable\s+to)\s+find\b|\bno\s+(products?|results?|orders?)\s+(found|match)"
    r"|没有找到|找不到|未找到",
    re.IGNORECASE,
)
_MENTIONS_HUMAN = re.compile(r"talk to a human|转人工", re.IGNORECASE)

HANDOFF_NOTICE = {
    "en": "I've asked a member of our team to join. They will reply here as soon as they can; "
    "you can keep writing in the meantime.",
    "zh-hans": "已为您转接人工客服，工作人员会尽快在这里回复您。您可以继续留言。",
}
CLOSED_NOTICE = {
    "en": "Our team is away right now. I've passed your request on and someone will reply here {when}. "
    "Until then I'll keep helping as best I can.",
    "zh-hans": "人工客服现在不在线。已为您登记，工作人员将于{when}在这里回复您。在此之前我会继续为您服务。",
}
CLOSED_NO_HOURS = {
    "en": "as soon as the team is back",
    "zh-hans": "上班后",
}
OFFER_HUMAN = {
    "en": 'If I\'m not helping, you can talk to a human: just say "talk to a human".',
    "zh-hans": "如果我没能帮到您，可以输入“转人工”联系人工客服。",
}
OFFER_CHIP = {"en": "Talk to a human", "zh-hans": "转人工"}

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh-hans": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}


def _lang(language: str) -> str:
    return reply_language(language)


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN.search(text))


def sounds_frustrated(text: str) -> bool:
    return bool(_FRUSTRATED.search(text))


def request_handoff(conversation: Any) -> bool:
    """Put the conversation in the staff queue; False when it already was there."""
    from chatbot.models import Conversation
    from chatbot.signals import handoff_requested

    if conversation.state in (Conversation.State.WAITING, Conversation.State.STAFF):
        return False
    conversation.state = Conversation.State.WAITING
    conversation.handoff_requested_at = timezone.now()
    conversation.save(update_fields=["state", "handoff_requested_at", "updated"])
    handoff_requested.send(sender=Conversation, conversation=conversation)
    return True


def bot_answers(conversation: Any, when: datetime | None = None) -> bool:
    """Whether the assistant answers the conversation's next message.

    It does while the conversation is with the bot, and also while it waits for staff outside
    business hours; once staff are in (or have replied) only they answer.
    """
    from chatbot.models import Conversation

    if conversation.state == Conversation.State.BOT:
        return True
    return conversation.state == Conversation.State.WAITING and not staff_available(when)


def describe_time(moment: datetime, language: str, now: datetime | None = None) -> str:
    """ "today at 09:00", "on Monday at 09:00 (Europe/London time)" and their Chinese forms."""
    lang = _lang(language)
    now = (now or timezone.now()).astimezone(moment.tzinfo)
    clock = moment.strftime("%H:%M")
    zone = str(moment.tzinfo)
    days = (moment.date() - now.date()).days
    if lang == "zh-hans":
        day = "今天" if days == 0 else "明天" if days == 1 else _WEEKDAYS[lang][moment.weekday()]
        return f"{day} {clock}（{zone} 时间）"
    day = "today" if days == 0 else "tomorrow" if days == 1 else f"on {_WEEKDAYS[lang][moment.weekday()]}"
    return f"{day} at {clock} ({zone} time)"


def handoff_notice(language: str, when: datetime | None = None) -> str:
    """The acknowledgement of a handoff: plain in business hours, else when a human will answer."""
    lang = _lang(language)
    if staff_available(when):
        return HANDOFF_NOTICE[lang]
    opening = next_staff_time(when)
    described = describe_time(opening, lang, when) if opening else CLOSED_NO_HOURS[lang]
    return CLOSED_NOTICE[lang].format(when=described)


def _failed(message: Any) -> bool:
    from chatbot.models import Message

    return message.status == Message.Status.ERROR or bool(_NOT_FOUND.search(message.text or ""))


def should_offer_human(reply: Any, question: Any = None) -> bool:
    """Offer a human after two failed or empty-handed replies in a row, or to a frustrated visitor.

    ``question`` is the visitor's message ``reply`` answers; it is looked up when not given.
    """
    from chatbot.models import Conversation, Message

    conversation = reply.conversation
    if conversation.state != Conversation.State.BOT or reply.status == Message.Status.STOPPED:
        return False

    def last_before(role: str) -> Any:
        return conversation.messages.filter(id__lt=reply.id, role=role).order_by("-id").first()

    if question is None:
        question = last_before(Message.Role.USER)
    if question is not None and sounds_frustrated(question.text) and not asks_for_human(question.text):
        return True
    if not _failed(reply):
        # The common case costs no query: only a failed reply looks at the one before it.
        return False
    previous = last_before(Message.Role.ASSISTANT)
    return previous is not None and _failed(previous)


def offer_human(reply: Any, language: str) -> Any | None:
    """Add the offer to ``reply`` (its text and a suggestion chip), in memory, for the caller to store;
    when the reply failed, return the offer as a message of its own (unsaved) to store after it."""
    from chatbot.models import Message

    lang = _lang(language)
    chip = OFFER_CHIP[lang]
    if reply.status == Message.Status.ERROR:
        # The visitor saw an error, not this text: the offer goes in a message of its own.
        return Message(
            conversation=reply.conversation,
            role=Message.Role.ASSISTANT,
            kind=Message.Kind.NOTICE,
            text=OFFER_HUMAN[lang],
            suggestions=[chip],
        )
    if not _MENTIONS_HUMAN.search(reply.text):
        reply.text = f"{reply.text.rstrip()}\n\n{OFFER_HUMAN[lang]}".lstrip()
    reply.suggestions = [chip, *[s for s in reply.suggestions if s != chip]][:6]
    return None


def offer_human_when_stuck(reply: Any, question: Any) -> Any | None:
    """A step of the turn, before its reply is stored: when the assistant is not helping, the reply
    offers a human (see :func:`offer_human`; returns the separate offer to store, if any)."""
    if not should_offer_human(reply, question):
        return None
    text = f"{question.text if question else ''} {reply.text}"
    return offer_human(reply, written_language(text))
