"""Feedback stored through the API shows up in the admin's insights: counts, worst-rated answers,
most asked questions, handoff rate by day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chatbot.models import Conversation, Message
from chatbot.staff.insights import compute

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording")]


@pytest.fixture
def admin_client_(db):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@shop.example", "pw"))
    return client


def rate(chat, message_id: str, rating: str, comment: str = "") -> None:
    body = {"rating": rating, **({"comment": comment} if comment else {})}
    response = chat.post(f"/api/chatbot/messages/{message_id}/feedback", body)
    assert response.status_code == 204


@pytest.fixture
def activity(make_chat, recording):
    first = make_chat()
    recording.reply = "We ship in 2 days."
    up = dict(first.ask("Do you ship to Ireland?"))["done"]["id"]
    rate(first, up, "up")
    recording.reply = "Teapots are great."
    down = dict(first.ask("What is your returns policy?"))["done"]["id"]
    rate(first, down, "down", "That is not about returns")

    second = make_chat()
    recording.reply = "We ship in 2 days."
    second.ask("do you ship to ireland?  ")
    second.ask("talk to a human")

    third = make_chat()
    third.ask("Do you ship to Ireland?")
    return {"down": down}


def test_insights_count_feedback_questions_and_handoffs(activity):
    insights = compute(30)
    totals = insights.totals
    assert totals["conversations"] == 3 and totals["handoffs"] == 1
    assert totals["thumbs_up"] == 1 and totals["thumbs_down"] == 1 and totals["comments"] == 1
    assert totals["handoff_rate"] == pytest.approx(1 / 3)
    (worst,) = insights.worst_answers
    assert worst["question"] == "What is your returns policy?"
    assert worst["answer"] == "Teapots are great." and worst["comment"] == "That is not about returns"
    assert insights.top_questions[0] == {"question": "do you ship to ireland?", "count": 3}
    (today,) = insights.handoff_by_day
    assert (today.conversations, today.handoffs) == (3, 1)


def test_the_period_limits_what_is_counted(activity):
    Conversation.objects.filter(handoff_requested_at__isnull=True).update(created=timezone.now() - timedelta(days=60))
    Message.objects.update(created=timezone.now() - timedelta(days=60))
    insights = compute(30)
    assert insights.totals["conversations"] == 1 and insights.totals["thumbs_down"] == 0
    assert insights.worst_answers == [] and insights.top_questions == []
    assert compute(90).totals["conversations"] == 3


def test_insights_page_in_the_admin(admin_client_, activity):
    page = admin_client_.get("/admin/chatbot/conversation/insights/?days=7")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<td id="thumbs-up">1</td>' in html and '<td id="thumbs-down">1</td>' in html
    assert "Teapots are great." in html and "That is not about returns" in html
    assert "do you ship to ireland?" in html
    assert "33%" in html
    assert admin_client_.get("/admin/chatbot/conversation/insights/?days=abc").status_code == 200


def test_message_list_filters_by_rating(admin_client_, activity):
    page = admin_client_.get("/admin/chatbot/message/?rating__exact=down").content.decode()
    assert "Teapots are great." in page and "We ship in 2 days." not in page
