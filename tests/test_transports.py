"""One transport, chosen from settings, is what the widget, health, staff replies and purges follow:
``CHATBOT["TRANSPORT"]`` names it (a dotted path is honoured), or the Stream settings decide."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.template import engines
from django.test import Client, RequestFactory

from chatbot.models import Conversation, Message
from tests.transports import BOARD

pytestmark = pytest.mark.django_db

STREAM_KEYS = {"STREAM_CHAT_ENABLED": True, "STREAM_CHAT_API_KEY": "key-4821", "STREAM_CHAT_API_SECRET": "secret-4821"}


@pytest.fixture
def conf(settings):
    def apply(**changes):
        settings.CHATBOT = {**settings.CHATBOT, **changes}

    return apply


@pytest.fixture
def board(conf):
    BOARD.reset()
    conf(TRANSPORT="tests.transports.NoticeBoardTransport")
    return BOARD


def widget_config() -> dict:
    html = engines["django"].from_string("{% load chatbot %}{% chatbot_widget %}").render({}, RequestFactory().get("/"))
    match = re.search(r'<script id="shop-chatbot-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, html
    return json.loads(match.group(1))


def staff_client() -> Client:
    user = get_user_model().objects.create_user("sam", "sam@shop.example", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    client = Client()
    client.force_login(user)
    return client


def test_builtin_named_in_settings_wins_over_stream_keys(conf, chat):
    conf(TRANSPORT="builtin", **STREAM_KEYS)
    config = widget_config()
    assert config["mode"] == "builtin"
    assert "streamToken" not in config["endpoints"] and "stream" not in config["assets"]
    response = chat.post("/api/chatbot/stream-chat-token", {})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stream_disabled"
    assert Client().get("/api/chatbot/health").json()["checks"]["stream"] == {"ok": True, "detail": "disabled"}


def test_stream_keys_alone_choose_the_stream_widget(conf):
    conf(**STREAM_KEYS)
    config = widget_config()
    assert config["mode"] == "stream"
    assert config["endpoints"]["streamToken"] == "/api/chatbot/stream-chat-token"
    assert config["endpoints"]["messages"] == "/api/chatbot/messages", "the builtin endpoints stay as the fallback"


def test_health_reports_the_chosen_transport(board):
    assert Client().get("/api/chatbot/health").json()["checks"]["stream"] == {"ok": True, "detail": "ok"}
    board.up = False
    response = Client().get("/api/chatbot/health")
    assert response.status_code == 503
    assert response.json()["checks"]["stream"] == {"ok": False, "detail": "board_down"}
    assert "connection refused" not in response.content.decode()


@pytest.mark.demo  # the demo's dashboard or its production server
def test_a_staff_reply_reaches_the_chosen_transport(board, chat, django_capture_on_commit_callbacks):
    chat.ask("talk to a human")
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client().post(f"/dashboard/chat/{conversation.pk}/", {"action": "reply", "text": "Sam here"})
    assert response.status_code == 302
    assert board.posts == {str(conversation.public_id): ["Sam here"]}


@pytest.mark.demo  # the demo's dashboard or its production server
def test_a_transport_that_fails_loses_no_staff_reply(board, chat, django_capture_on_commit_callbacks, caplog):
    chat.ask("talk to a human")
    conversation = Conversation.objects.get()
    board.up = False
    with django_capture_on_commit_callbacks(execute=True):
        staff_client().post(f"/dashboard/chat/{conversation.pk}/", {"action": "reply", "text": "Sam here"})
    assert Message.objects.filter(conversation=conversation, role=Message.Role.STAFF, text="Sam here").exists()
    assert "The notice_board transport could not post staff message" in caplog.text
    assert any(m["text"] == "Sam here" for m in chat.history()["messages"]), "the widget still shows it"


def test_a_purge_asks_the_chosen_transport_to_forget_and_keeps_what_it_could_not(board, chat):
    chat.ask("talk to a human")
    conversation = Conversation.objects.get()
    board.posts[str(conversation.public_id)] = ["Sam here"]
    board.up = False
    with pytest.raises(CommandError, match="Kept 1 conversations"):
        call_command("chatbot_purge", "--older-than", "0", stdout=io.StringIO())
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    board.up = True
    call_command("chatbot_purge", "--older-than", "0", stdout=io.StringIO())
    assert board.posts == {}
    assert not Conversation.objects.exists()


def test_a_transport_that_cannot_be_loaded_is_a_system_check_error_and_the_chat_still_works(conf, chat):
    conf(TRANSPORT="tests.transports.NoSuchTransport")
    with pytest.raises(SystemCheckError, match=r"chatbot\.E008"):
        call_command("check")
    assert Client().get("/api/chatbot/health").json()["checks"]["stream"] == {"ok": False, "detail": "not_configured"}
    assert widget_config()["mode"] == "builtin"
    assert chat.ask("What is your returns policy?")[-1][0] == "done"
    conf(TRANSPORT="tests.transports.BOARD")
    with pytest.raises(SystemCheckError, match="is not a chatbot.transports.base.Transport subclass"):
        call_command("check")


def test_stream_switched_on_without_a_key_is_still_an_error_whatever_the_transport(conf):
    conf(TRANSPORT="builtin", STREAM_CHAT_ENABLED=True, STREAM_CHAT_API_KEY="key-4821")
    with pytest.raises(SystemCheckError, match=r"chatbot\.E001"):
        call_command("check")
    assert widget_config()["mode"] == "builtin"
