"""Reliability: PostgreSQL connections killed under load, providers and Stream failing for many
visitors at once, a server process killed in the middle of a reply.

The server tests run the production server (gunicorn gthread, ``shop_site.settings`` with persistent
connections and health checks) in a child process against the test database. Waiting in these tests
is always for a condition (a port, a file, a line of the stream), never for an amount of time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from bench.servers import production_command
from chatbot.exceptions import ProviderUnavailable
from chatbot.models import Message
from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent
from chatbot.sweep import sweep_interrupted_replies
from tests.conftest import parse_sse, reply_text
from tests.fakes.openai import FakeOpenAI, chunk, openai_settings, text_answer
from tests.fakes.stream_server import stream_fixture  # noqa: F401 - the "stream" fixture

ROOT = Path(__file__).resolve().parent.parent
WAIT = 30.0  # an upper bound for a broken test, never a pacing delay


class FileGateProvider(Provider):
    """Says "Hello", then waits until the file named by ``CHATBOT_TEST_GATE`` exists, then finishes.

    It runs inside the server process, so the test opens the gate by creating the file."""

    name = "file-gate"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        yield Delta("Hello")
        gate = Path(os.environ["CHATBOT_TEST_GATE"])
        deadline = time.monotonic() + WAIT
        while not gate.exists():
            if time.monotonic() > deadline:
                raise ProviderUnavailable("the test never opened the gate")
            time.sleep(0.01)
        yield Delta(" again")
        yield Done()


class EchoProvider(Provider):
    """Answers "ok" at once."""

    name = "echo"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        yield Delta("ok")
        yield Done()


# -- the production server in a child process ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    conf = connection.settings_dict
    return f"postgres://{conf['USER']}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


@contextlib.contextmanager
def production_server(
    provider: str, tmp_path: Path, threads: int = 8, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``env``: more environment for the server (e.g. ``CACHE_URL``)."""
    port = _free_port()
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop_site.settings",
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "60",
        "CHATBOT_PROVIDER": provider,
        "CHATBOT_RATE_LIMITS": "off",
        "CHATBOT_TEST_GATE": str(tmp_path / "gate"),
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    args = production_command(port, workers=1, threads=threads)
    with wait_for_server(args, port, server_env, tmp_path / "server.log") as base:
        yield base


@contextlib.contextmanager
def wait_for_server(args: list[str], port: int, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Start a server process (its output in ``log_path``), yield its base URL once it listens, kill it
    and its workers at the end."""
    log = log_path.open("wb")
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            assert process.poll() is None, log_path.read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


class HttpVisitor:
    """A visitor talking HTTP to a real server: session cookie, CSRF cookie and header."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.csrf = secrets.token_hex(16)
        self.http.cookies.set("csrftoken", self.csrf)

    def start(self, text: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/api/chatbot/messages",
            data=json.dumps({"text": text}),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf},
            stream=True,
            timeout=WAIT,
        )

    def ask(self, text: str) -> list[tuple[str, dict]]:
        response = self.start(text)
        assert response.status_code == 200, response.text
        return parse_sse(response.content)


def _kill_other_backends() -> int:
    """What an operator, a failover or an idle-connection reaper does to the site's connections."""
    conf = connection.settings_dict
    with psycopg.connect(_database_url().rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            (conf["NAME"], connection.connection.info.backend_pid),
        ).fetchall()
    return len(rows)


def _final(events: list[tuple[str, dict]]) -> tuple[str, dict]:
    return events[-1]


# -- database connections killed -----------------------------------------------------------------


#: The demo's connection gate (shop_site.database), and Django's own pool with health checks instead.
CONNECTIONS = {"gate": "false", "pool": "true"}


@pytest.mark.demo  # the demo server in a child process
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("connections", list(CONNECTIONS))
def test_killed_database_connections_need_no_restart_and_lose_no_message(tmp_path, connections):
    connection.ensure_connection()
    pool = {"DB_POOL": CONNECTIONS[connections]}
    with production_server("tests.test_reliability.EchoProvider", tmp_path, env=pool) as base:
        visitors = [HttpVisitor(base) for _ in range(6)]
        for visitor in visitors:
            assert _final(visitor.ask("first"))[0] == "done"
            # A plain request leaves its thread holding a persistent connection (CONN_MAX_AGE).
            assert visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT).status_code == 200
        assert _kill_other_backends() >= 1
        for visitor in visitors:
            assert _final(visitor.ask("after the kill"))[0] == "done"
            assert visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT).status_code == 200
        assert _kill_other_backends() >= 1
        for visitor in visitors:
            history = visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT)
            assert history.status_code == 200
            assert [m["text"] for m in history.json()["messages"]] == ["first", "ok", "after the kill", "ok"]
    assert Message.objects.filter(role="user").count() == 12
    assert Message.objects.filter(role="assistant", status="done", text="ok").count() == 12


@pytest.mark.demo  # the demo server in a child process
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("connections", list(CONNECTIONS))
def test_connections_killed_while_replies_stream_the_replies_are_still_stored(tmp_path, connections):
    connection.ensure_connection()
    provider = "tests.test_reliability.FileGateProvider"
    with production_server(provider, tmp_path, env={"DB_POOL": CONNECTIONS[connections]}) as base:
        visitors = [HttpVisitor(base) for _ in range(4)]
        streams = []
        for visitor in visitors:
            response = visitor.start("tell me twice")
            assert response.status_code == 200
            # The first piece has arrived: the reply is streaming and its row is "streaming".
            lines = response.iter_lines()
            assert any(line.startswith(b"event: delta") for line in lines)
            streams.append(lines)
        assert Message.objects.filter(status="streaming").count() == 4
        _kill_other_backends()
        (tmp_path / "gate").touch()
        for lines in streams:
            events = parse_sse(b"\n".join(lines))
            assert events[-1][0] == "done"
    assert Message.objects.filter(role="assistant", status="done", text="Hello again").count() == 4
    assert Message.objects.filter(status="streaming").count() == 0


# -- a worker killed in the middle of a reply ------------------------------------------------------


@pytest.mark.demo  # the demo server in a child process
@pytest.mark.django_db(transaction=True)
def test_a_reply_cut_by_a_killed_worker_is_marked_failed_and_the_chat_goes_on(tmp_path):
    with production_server("tests.test_reliability.FileGateProvider", tmp_path) as base:
        visitor = HttpVisitor(base)
        response = visitor.start("are you there?")
        assert any(line.startswith(b"event: delta") for line in response.iter_lines())
    # The server was killed (SIGKILL) with the reply half written.
    reply = Message.objects.get(role="assistant")
    assert reply.status == "streaming"
    question = Message.objects.get(role="user")
    assert question.text == "are you there?"

    # A process starting now must not touch a reply that a live process may still be streaming...
    assert sweep_interrupted_replies() == 0
    # ...but one not seen alive for longer than a live reply can be silent is abandoned.
    for message in (question, reply):
        Message.objects.filter(pk=message.pk).update(
            created=message.created - _abandoned_age(), updated=message.updated - _abandoned_age()
        )
    assert sweep_interrupted_replies() == 1
    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == ("error", "interrupted")

    (tmp_path / "gate").touch()
    with production_server("tests.test_reliability.FileGateProvider", tmp_path) as base:
        visitor.base = base
        history = visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT).json()["messages"]
        assert [(m["role"], m["status"]) for m in history] == [("user", "done"), ("assistant", "error")]
        events = visitor.ask("hello again")
        assert events[-1][0] == "done"
        assert reply_text(events) == "Hello again"


def _abandoned_age():
    from datetime import timedelta

    from chatbot.conf import chatbot_settings

    return timedelta(seconds=float(chatbot_settings.READ_TIMEOUT) + 31)


@pytest.mark.django_db(transaction=True)
def test_every_new_server_process_sweeps_abandoned_replies_on_its_first_request(tmp_path, customers):
    from chatbot.models import Conversation

    conversation = Conversation.objects.create(guest_id="abandoned")
    old = Message.objects.create(conversation=conversation, role="assistant", status="streaming", text="")
    long_ago = old.created - _abandoned_age()
    Message.objects.filter(pk=old.pk).update(created=long_ago, updated=long_ago)
    live = Message.objects.create(conversation=conversation, role="assistant", status="streaming", text="")
    with production_server("tests.test_reliability.EchoProvider", tmp_path) as base:
        assert requests.get(f"{base}/api/chatbot/health", timeout=WAIT).status_code in (200, 503)
        deadline = time.monotonic() + WAIT
        while Message.objects.get(pk=old.pk).status == "streaming":
            assert time.monotonic() < deadline, "the new process did not sweep"
            time.sleep(0.05)
    assert Message.objects.get(pk=old.pk).error_code == "interrupted"
    assert Message.objects.get(pk=live.pk).status == "streaming"


# -- providers failing for many visitors ----------------------------------------------------------


FAILURES = {
    "5xx": ("status", (502, {"error": {"message": "bad gateway", "type": "server_error"}}, {})),
    "cut stream": ("script", [chunk({"role": "assistant", "content": ""}), chunk({"content": "Half an"}), "cut"]),
    "garbage": ("script", [b"data: {this is not json\n\n"]),
    "no end": ("script", [chunk({"content": "It"}), "no-done"]),
    "timeout": ("script", "hang"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failing_provider_gives_every_visitor_a_clear_error_and_keeps_every_message(failure, settings, make_chat):
    kind, value = FAILURES[failure]
    with FakeOpenAI() as fake:
        if kind == "status":
            fake.status = value
        else:
            fake.script = [value]
        settings.CHATBOT = openai_settings(fake, OPENAI_MAX_TOOL_ROUNDS=0, READ_TIMEOUT=0.5)
        visitors = [make_chat() for _ in range(5)]
        for index, visitor in enumerate(visitors):
            events = visitor.ask(f"question {index}")
            name, data = events[-1]
            assert name == "error", events
            assert data["code"] and data["message"], data
            assert "Traceback" not in data["message"]
    assert Message.objects.filter(role="user").count() == 5
    assert sorted(Message.objects.filter(role="user").values_list("text", flat=True)) == [
        f"question {i}" for i in range(5)
    ]
    replies = Message.objects.filter(role="assistant")
    assert replies.count() >= 5
    assert not replies.filter(status="streaming").exists()


@pytest.mark.django_db(transaction=True)
def test_a_provider_failing_under_concurrent_load_answers_everyone(settings, live_server):
    """Ten visitors at once, the provider alternating answers and failures: each visitor gets one or the other."""
    steps = [text_answer("Fine", " thanks"), [chunk({"content": "Half"}), "cut"]]
    with FakeOpenAI() as fake:
        fake.script = [steps[i % 2] for i in range(10)] + [steps[0]]
        settings.CHATBOT = openai_settings(fake, OPENAI_MAX_TOOL_ROUNDS=0)
        outcomes: list[tuple[str, dict]] = []
        lock = threading.Lock()

        def visit(index: int) -> None:
            events = HttpVisitor(live_server.url).ask(f"load {index}")
            with lock:
                outcomes.append(events[-1])

        threads = [threading.Thread(target=visit, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert len(outcomes) == 10
    assert {name for name, _ in outcomes} <= {"done", "error"}
    assert all(data.get("message") for name, data in outcomes if name == "error")
    assert Message.objects.filter(role="user").count() == 10
    assert not Message.objects.filter(status="streaming").exists()


# -- Stream failing under load --------------------------------------------------------------------


@pytest.mark.django_db
def test_stream_failing_gives_every_visitor_a_clear_error_and_keeps_their_messages(stream, make_chat):
    stream.fail("send message", 500, times=4)
    visitors = [make_chat() for _ in range(4)]
    for index, visitor in enumerate(visitors):
        response = visitor.post("/api/chatbot/stream-message", {"text": f"stream question {index}"})
        assert response.status_code in (502, 503), response.content
        error = response.json()["error"]
        assert error["code"] and error["message"]
    stored = sorted(Message.objects.filter(role="user").values_list("text", flat=True))
    assert stored == [f"stream question {i}" for i in range(4)]
    assert not Message.objects.filter(status="streaming").exists()
