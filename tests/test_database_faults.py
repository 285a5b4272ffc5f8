"""Database and cache faults in the middle of conversations, under the production server.

A storm of ``pg_terminate_backend`` (what a failover or a pooler restart does to the site's
connections) while visitors are asking: each visitor gets their answer or a clear error (an ``error``
event, or the API's JSON 503 with ``Retry-After``), never an HTML page and never a stream cut off
without its last event; every question the server acknowledged is stored, and no reply is left
"streaming". Only backends of the test's own database are terminated.

Where exactly a connection is lost is made certain with a trigger that terminates its own backend
the first times a row is written, so each step of a turn is tested on its own.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from chatbot import replies
from chatbot.exceptions import ProviderUnavailable
from chatbot.models import Message
from chatbot.providers.base import ChatRequest, Delta, Provider, ProviderEvent
from tests.conftest import parse_sse
from tests.test_reliability import WAIT, HttpVisitor, _database_url, _free_port, production_server

VISITORS = 60
#: Backends a storm terminates: every one of the site's, again and again as new ones appear.
STORM_KILLS = 80


def storm(kills: int = STORM_KILLS, max_rounds: int = 20_000) -> int:
    """Terminate every other backend of this database, round after round, until ``kills`` different
    backends were ended (or ``max_rounds`` passed); returns how many were ended."""
    ended: set[tuple[int, object]] = set()
    with psycopg.connect(_database_url(), autocommit=True) as admin:
        for _ in range(max_rounds):
            rows = admin.execute(
                "SELECT pid, backend_start, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            ended.update((pid, started) for pid, started, signalled in rows if signalled)
            if len(ended) >= kills:
                break
    # The test's own connection was among them.
    connection.close()
    # How many backends come back to be ended depends on how fast the server reconnects; the storm
    # counts once it ended at least one connection per visitor (CI's machine has given 70 of 80).
    assert len(ended) >= min(kills, VISITORS), f"only {len(ended)} backends to terminate"
    return len(ended)


@dataclass
class Outcome:
    """What one visitor saw."""

    status: int = 0
    content_type: str = ""
    retry_after: str | None = None
    body: bytes = b""
    #: The transfer broke off (the server closed the connection inside the body).
    broken: str = ""
    events: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.broken:
            return "broken"
        if self.status == 200 and self.content_type.startswith("text/event-stream"):
            if self.events and self.events[-1][0] in ("done", "error"):
                return self.events[-1][0]
            return "cut"
        if self.content_type == "application/json" and self.status == 503 and self.retry_after:
            return "unavailable"
        return "other"

    @property
    def question_id(self) -> str | None:
        acknowledged = [data["id"] for name, data in self.events if name == "message"]
        return acknowledged[0] if acknowledged else None


def ask(visitor: HttpVisitor, text: str) -> Outcome:
    outcome = Outcome()
    try:
        response = visitor.start(text)
        outcome.status = response.status_code
        outcome.content_type = response.headers.get("Content-Type", "")
        outcome.retry_after = response.headers.get("Retry-After")
        outcome.body = response.content
    except requests.RequestException as exc:
        outcome.broken = type(exc).__name__
        return outcome
    if outcome.content_type.startswith("text/event-stream"):
        with contextlib.suppress(ValueError):
            outcome.events = parse_sse(outcome.body)
    return outcome


def assert_clear(outcomes: list[Outcome]) -> None:
    unclear = [
        (o.kind, o.status, o.content_type, o.body[-300:], o.broken)
        for o in outcomes
        if o.kind not in ("done", "error", "unavailable")
    ]
    assert not unclear, unclear
    for outcome in outcomes:
        if outcome.kind == "unavailable":
            error = json.loads(outcome.body)["error"]
            assert error["code"] == "unavailable" and error["message"], error
        elif outcome.kind == "error":
            assert outcome.events[-1][1]["code"] and outcome.events[-1][1]["message"]


def wait_until_settled() -> None:
    """A final state the database refused is stored by the server once the database is back."""
    deadline = time.monotonic() + WAIT
    while Message.objects.filter(status="streaming").exists():
        assert time.monotonic() < deadline, "a reply was left streaming"
        time.sleep(0.05)


def assert_nothing_lost(outcomes: list[Outcome]) -> None:
    acknowledged = {o.question_id for o in outcomes if o.question_id}
    stored = {str(pk) for pk in Message.objects.filter(role="user").values_list("public_id", flat=True)}
    assert acknowledged <= stored
    wait_until_settled()
    for outcome in outcomes:
        if outcome.kind == "done":
            reply = outcome.events[-1][1]
            assert Message.objects.get(public_id=reply["id"]).text == reply["text"]


def visit_all(visitors: list[HttpVisitor], text: str) -> tuple[list[threading.Thread], list[Outcome]]:
    outcomes: list[Outcome] = [Outcome() for _ in visitors]

    def visit(index: int) -> None:
        outcomes[index] = ask(visitors[index], f"{text} {index}")

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(len(visitors))]
    for thread in threads:
        thread.start()
    return threads, outcomes


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(WAIT * 2)
        assert not thread.is_alive(), "a visitor never got an answer"


def wait_for_streaming(count: int) -> None:
    deadline = time.monotonic() + WAIT
    while Message.objects.filter(status="streaming").count() < count:
        assert time.monotonic() < deadline, "the replies never started"
        time.sleep(0.01)


@pytest.mark.demo  # the demo's production server
@pytest.mark.django_db(transaction=True)
def test_a_storm_of_terminated_connections_gives_every_visitor_an_answer_or_a_clear_error(tmp_path):
    with production_server("tests.test_reliability.FileGateProvider", tmp_path, threads=VISITORS + 8) as base:
        visitors = [HttpVisitor(base) for _ in range(VISITORS)]
        threads, outcomes = visit_all(visitors, "question")
        # A third of the replies stream, the rest are anywhere between the request and the first word.
        wait_for_streaming(VISITORS // 3)
        # Widgets polling their history through the storm.
        pollers = [HttpVisitor(base) for _ in range(4)]
        polled: list[requests.Response] = []
        storm_over = threading.Event()

        def poll(visitor: HttpVisitor) -> None:
            for _ in range(200):  # bounded; ends early once the storm is over
                polled.append(visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT))
                if storm_over.is_set():
                    return

        polling = [threading.Thread(target=poll, args=(visitor,)) for visitor in pollers]
        for thread in polling:
            thread.start()
        storm()
        storm_over.set()
        (tmp_path / "gate").touch()
        join(threads + polling)
        assert polled and all(
            r.status_code == 200 or (r.status_code == 503 and r.headers["Content-Type"] == "application/json")
            for r in polled
        ), [(r.status_code, r.text[:200]) for r in polled if r.status_code != 200]
        assert_clear(outcomes)
        assert_nothing_lost(outcomes)

        # Afterwards every visitor is served at once.
        threads, after = visit_all(visitors, "again")
        join(threads)
        assert [o.kind for o in after] == ["done"] * VISITORS
    log = (tmp_path / "server.log").read_text()
    assert "Internal Server Error" not in log
    # A component that lost its connection says so once per failure, not in a loop of tracebacks.
    assert log.count("Traceback") <= 5, log[-5000:]


class TickerProvider(Provider):
    """Says "." every 20 ms until it is stopped (or the test's bound passes)."""

    name = "ticker"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            yield Delta(".")
            time.sleep(0.02)
        raise ProviderUnavailable("nobody stopped the ticker")


@pytest.mark.demo  # the demo's dashboard or its production server
@pytest.mark.django_db(transaction=True)
def test_after_the_storm_the_stop_watcher_still_stops_a_reply_asked_on_another_server(tmp_path):
    # The web process alone: its log must hold no traceback. The task worker (another process, which
    # django_tasks_db lets die of a lost connection and the server starts again) is tested in test_tasks.
    web_only = {"RUN_TASK_WORKER": "0"}
    with production_server("tests.test_database_faults.TickerProvider", tmp_path, env=web_only) as base:
        visitor = HttpVisitor(base)
        response = visitor.start("tick")
        lines = response.iter_lines()
        assert any(line.startswith(b"event: delta") for line in lines)
        # The stop listener's connection among them, each time it opens a new one.
        storm(kills=5)
        # A stop asked on another server (this process): the streaming server hears it once it listens
        # again, or finds it when it looks up its replies after reconnecting.
        assert replies.request_stop(Message.objects.filter(status="streaming")) != []
        events = parse_sse(b"\n".join(lines))
        assert events[-1][0] == "done" and events[-1][1]["status"] == "stopped"
    assert Message.objects.get(role="assistant").status == "stopped"
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
    # Said once per outage, not every round while the database is away.
    assert log.count("Stop listener cannot listen") <= 2, log[-3000:]


# -- one lost connection at a known step ----------------------------------------------------------


@pytest.fixture
def lose_connection():
    """``lose_connection(table, event, times, when)``: the first ``times`` writes (``event``: INSERT or
    UPDATE) of ``table`` rows matching ``when`` terminate the connection that makes them, before
    anything is committed."""
    installed: list[tuple[str, str]] = []

    def install(table: str, event: str, times: int = 1, when: str = "TRUE") -> None:
        name = f"test_lose_connection_{len(installed)}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE {name}_count")
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF ({when}) AND nextval('{name}_count') <= {times}"
                " THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$"
            )
            cursor.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        installed.append((name, table))

    yield install
    connection.close()  # it may be one the trigger ended
    with connection.cursor() as cursor:
        for name, table in installed:
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
            cursor.execute(f"DROP FUNCTION {name}()")
            cursor.execute(f"DROP SEQUENCE {name}_count")


@pytest.fixture
def echo(settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.test_reliability.EchoProvider"}


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_while_the_question_is_stored_is_tried_once_more(echo, chat, lose_connection):
    lose_connection("chatbot_message", "INSERT")
    events = chat.ask("hello")
    assert events[-1][0] == "done" and events[-1][1]["text"] == "ok"
    assert list(Message.objects.values_list("role", "text", "status")) == [
        ("user", "hello", "done"),
        ("assistant", "ok", "done"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_first_visitor_whose_session_save_loses_its_connection_keeps_their_conversation(echo, chat, lose_connection):
    lose_connection("django_session", "INSERT")
    assert chat.ask("first")[-1][0] == "done"
    assert chat.ask("second")[-1][0] == "done"
    assert [m["text"] for m in chat.history()["messages"]] == ["first", "ok", "second", "ok"]


@pytest.mark.django_db(transaction=True)
def test_a_database_that_stays_away_is_the_apis_json_503_and_stores_nothing(echo, chat, lose_connection):
    lose_connection("chatbot_message", "INSERT", times=2)
    response = chat.post("/api/chatbot/messages", {"text": "hello"})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "unavailable"
    assert not Message.objects.exists()
    # The database is back: the same visitor is answered.
    assert chat.ask("hello")[-1][0] == "done"


@pytest.mark.django_db(transaction=True)
def test_a_reply_whose_connection_is_lost_as_it_is_stored_is_still_stored(echo, chat, lose_connection):
    lose_connection("chatbot_message", "UPDATE", when="NEW.status = 'done'")
    events = chat.ask("hello")
    assert events[-1][0] == "done"
    assert Message.objects.get(role="assistant").status == "done"


@pytest.mark.django_db(transaction=True)
def test_a_reply_the_database_will_not_store_now_ends_with_an_error_event_and_is_stored_later(
    echo, chat, lose_connection
):
    # Every attempt of the relay fails, and the first two made in the background.
    lose_connection("chatbot_message", "UPDATE", times=8, when="NEW.status <> 'streaming'")
    events = chat.ask("hello")
    assert [name for name, _ in events] == ["message", "delta", "error"]
    assert events[-1][1]["code"] == "unavailable" and events[-1][1]["message"]
    wait_until_settled()
    assert Message.objects.get(role="assistant").text == "ok"
    # The conversation goes on.
    assert chat.ask("hello again")[-1][0] == "done"


# -- the cache down ---------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A Redis of the test's own on a free port: ``(url, process)``."""
    port = _free_port()
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait()


@pytest.mark.demo  # the demo's production server
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limits", ["visitor=20/m,ip=120/m", "off"])
def test_with_the_cache_down_every_visitor_gets_an_answer_or_a_clear_error(limits, tmp_path):
    with redis_server(tmp_path) as (cache_url, redis):
        env = {"CACHE_URL": cache_url, "CHATBOT_RATE_LIMITS": limits}
        with production_server("tests.test_reliability.EchoProvider", tmp_path, env=env) as base:
            returning = [HttpVisitor(base) for _ in range(5)]
            threads, outcomes = visit_all(returning, "before")
            join(threads)
            assert [o.kind for o in outcomes] == ["done"] * 5

            redis.kill()
            redis.wait()
            threads, outcomes = visit_all(returning, "cache down")
            join(threads)
            assert_clear(outcomes)
            # Counting requests needs the cache; without limits to count, the chat needs only the database.
            expected = "unavailable" if limits != "off" else "done"
            assert [o.kind for o in outcomes] == [expected] * 5
            # A first-time visitor's session is made in the database alone.
            newcomers = [HttpVisitor(base) for _ in range(3)]
            threads, first_visits = visit_all(newcomers, "new")
            join(threads)
            assert_clear(first_visits)
            assert [o.kind for o in first_visits] == [expected] * 3
            assert_nothing_lost(outcomes + first_visits)
            for visitor in returning:
                assert visitor.http.get(f"{base}/api/chatbot/messages", timeout=WAIT).status_code == 200
    assert "Internal Server Error" not in (tmp_path / "server.log").read_text()
