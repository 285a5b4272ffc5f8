"""Feedback and usage insights for the admin: counts, worst-rated answers, most asked questions and the
handoff rate per day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Lower, Trim, TruncDate
from django.utils import timezone

from chatbot.models import Conversation, Message


@dataclass
class DayRate:
    day: date
    conversations: int
    handoffs: int

    @property
    def rate(self) -> float:
        return self.handoffs / self.conversations if self.conversations else 0.0


@dataclass
class Insights:
    days: int
    totals: dict[str, Any]
    worst_answers: list[dict[str, Any]] = field(default_factory=list)
    top_questions: list[dict[str, Any]] = field(default_factory=list)
    handoff_by_day: list[DayRate] = field(default_factory=list)


def _question_before(message: Message) -> str:
    question = (
        Message.objects.filter(conversation_id=message.conversation_id, id__lt=message.id, role=Message.Role.USER)
        .order_by("-id")
        .values_list("text", flat=True)
        .first()
    )
    return question or ""


def compute(days: int = 30, *, limit: int = 15, now: Any = None) -> Insights:
    """Insights over the last ``days`` days."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    conversations = Conversation.objects.filter(created__gte=since)
    replies = Message.objects.filter(role=Message.Role.ASSISTANT, created__gte=since)
    ratings = replies.aggregate(
        up=Count("id", filter=Q(rating=Message.Rating.UP)),
        down=Count("id", filter=Q(rating=Message.Rating.DOWN)),
        comments=Count("id", filter=~Q(feedback_comment="")),
        errors=Count("id", filter=Q(status=Message.Status.ERROR)),
        total=Count("id"),
    )
    total_conversations = conversations.count()
    handoffs = conversations.filter(handoff_requested_at__isnull=False).count()
    totals = {
        "conversations": total_conversations,
        "questions": Message.objects.filter(role=Message.Role.USER, created__gte=since).count(),
        "answers": ratings["total"],
        "errors": ratings["errors"],
        "thumbs_up": ratings["up"],
        "thumbs_down": ratings["down"],
        "comments": ratings["comments"],
        "handoffs": handoffs,
        "handoff_rate": handoffs / total_conversations if total_conversations else 0.0,
    }
    worst = []
    for message in replies.filter(rating=Message.Rating.DOWN).order_by("-feedback_at", "-id")[:limit]:
        worst.append(
            {
                "message": message,
                "question": _question_before(message),
                "answer": message.text,
                "comment": message.feedback_comment,
                "conversation_id": message.conversation_id,
            }
        )
    top = (
        Message.objects.filter(role=Message.Role.USER, created__gte=since)
        .annotate(question=Lower(Trim("text")))
        .values("question")
        .annotate(count=Count("id"))
        .order_by("-count", "question")[:limit]
    )
    by_day = (
        conversations.annotate(day=TruncDate("created"))
        .values("day")
        .annotate(n=Count("id"), handoffs=Count("id", filter=Q(handoff_requested_at__isnull=False)))
        .order_by("day")
    )
    return Insights(
        days=days,
        totals=totals,
        worst_answers=worst,
        top_questions=[{"question": row["question"], "count": row["count"]} for row in top],
        handoff_by_day=[DayRate(row["day"], row["n"], row["handoffs"]) for row in by_day],
    )
