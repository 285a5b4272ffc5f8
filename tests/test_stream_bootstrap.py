"""Stream bootstrap: lazily on the first request, never from management commands, idempotent."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from chatbot.templatetags.chatbot import widget_mode
from chatbot.transports.stream.bootstrap import DISABLED_MESSAGE
from tests.fakes.stream_server import FakeStream, assistant_upserted, stream_fixture, stream_settings  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    from django.core.cache import cache

    with FakeStream() as server:
        cache.clear()  # a new app: nothing an earlier fake on the same port was told is remembered
        settings.CHATBOT = stream_settings(server)
        yield server
        assert server.problems == []


def test_management_commands_do_not_touch_stream_and_the_first_request_bootstraps(fake, capsys):
    call_command("check")
    call_command("migrate", "--check", verbosity=0)
    assert fake.ops() == []
    Client().get("/api/chatbot/health")
    fake.wait_for(lambda: assistant_upserted(fake))
    assert fake.users["shop-assistant"]["role"] == "user"
    Client().get("/api/chatbot/health")
    Client().get("/api/chatbot/health")
    upserts = [c for c in fake.ops("upsert users") if "shop-assistant" in c.body["users"]]
    assert len(upserts) == 1


def test_bootstrap_command_is_idempotent(fake):
    call_command("chatbot_bootstrap", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = dict(fake.users["shop-assistant"])
    call_command("chatbot_bootstrap", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fake.users == {"shop-assistant": first}
    assert first == {
        "id": "shop-assistant",
        "name": "Maple Helper",
        "role": "user",
        "image": "https://shop.example/helper.png",
    }


def test_webhook_registration_merges_with_existing_hooks(fake):
    theirs = [
        {"hook_type": "sqs", "enabled": True, "sqs_queue_url": "https://sqs.example/q", "event_types": []},
        {
            "hook_type": "webhook",
            "enabled": True,
            "webhook_url": "https://other.example/hook",
            "event_types": ["channel.created"],
        },
        {
            "hook_type": "webhook",
            "enabled": False,
            "webhook_url": "https://shop.example/api/chatbot/webhooks/stream",
            "event_types": [],
        },
    ]
    fake.app["event_hooks"] = [dict(h) for h in theirs]
    url = "https://shop.example/api/chatbot/webhooks/stream"
    call_command("chatbot_bootstrap", "--webhook-url", url, stdout=open("/dev/null", "w"))  # noqa: SIM115
    hooks = fake.app["event_hooks"]
    assert hooks[:2] == theirs[:2]
    assert hooks[2] == {"hook_type": "webhook", "enabled": True, "webhook_url": url, "event_types": ["message.new"]}
    assert len(hooks) == 3
    updates = len(fake.ops("update app"))
    call_command("chatbot_bootstrap", "--webhook-url", url, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(fake.ops("update app")) == updates  # nothing to change the second time


def test_bootstrap_command_reports_stream_failure(fake):
    fake.fail("upsert users", 503, times=3)
    with pytest.raises(CommandError, match="unavailable"):
        call_command("chatbot_bootstrap", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_disabled_stream_is_logged_once_and_the_builtin_transport_stays(settings, caplog):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_ENABLED": False}
    with caplog.at_level(logging.INFO, logger="chatbot.transports.stream.bootstrap"):
        for _ in range(3):
            Client().get("/api/chatbot/health")
    logged = [r for r in caplog.records if DISABLED_MESSAGE in r.getMessage()]
    assert len(logged) <= 1  # once per process: an earlier test may have logged it already
    assert widget_mode() == "builtin"


def test_health_reports_stream(stream):
    assert widget_mode() == "stream"
    stream.fail("get app", 500)
    response = Client().get("/api/chatbot/health")
    assert response.status_code == 503
    assert response.json()["checks"]["stream"] == {"ok": False, "detail": "stream_unavailable"}
    response = Client().get("/api/chatbot/health")
    assert response.json()["checks"]["stream"] == {"ok": True, "detail": "ok"}
    # A good answer is remembered for a while: health polls do not each cost a call to Stream.
    calls = len(stream.ops("get app"))
    Client().get("/api/chatbot/health")
    assert len(stream.ops("get app")) == calls


@pytest.mark.demo  # the demo's database task backend
def test_a_failed_bootstrap_is_queued_again_for_later_and_then_succeeds(fake, settings, transactional_db):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from chatbot.transports.stream.bootstrap import on_first_request
    from tests.conftest import DATABASE_TASKS, run_database_worker

    settings.TASKS = DATABASE_TASKS
    fake.fail("upsert users", 503)  # the first attempt
    on_first_request()
    assert fake.ops() == [], "queued for the worker; the request does not wait for Stream"
    run_database_worker()
    assert not fake.users
    path = "chatbot.transports.stream.bootstrap.bootstrap_stream"
    (again,) = DBTaskResult.objects.filter(task_path=path, status="READY")
    assert again.args_kwargs == {"args": [2], "kwargs": {}} and again.run_after > timezone.now()
    DBTaskResult.objects.filter(pk=again.pk).update(run_after=timezone.now())  # its time has come
    run_database_worker()
    assert fake.users["shop-assistant"]["role"] == "user"
    assert not DBTaskResult.objects.filter(task_path=path, status="READY").exists()
