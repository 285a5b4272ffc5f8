"""Stopping a reply that streams on an event loop (``chatbot.astops``): on PostgreSQL the stop is heard
as it commits, in this process or another one, through one listen connection per loop that outlives a
lost connection and is closed once nothing is watched; elsewhere (SQLite) it is polled for.

Each scenario runs on its own event loop (``asyncio.run``). Where the watcher's progress matters (it
listens, it caught up), the test waits for what the watcher logs, never for time to pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chatbot import replies
from chatbot.aio import in_thread
from chatbot.astops import APPLICATION_NAME, AsyncStopWatcher, async_stop_watcher
from chatbot.models import Conversation, Message
from tests.test_reliability import _database_url

ROOT = Path(__file__).resolve().parent.parent
#: A safety net: every wait ends as soon as what it waits for happens.
WAIT = 30.0

LISTENING = "Listening for stop requests"
CAUGHT_UP = "Every watched reply looked up"
CLOSED = "Closed the listen connection"


class WatcherLog(logging.Handler):
    """What ``chatbot.astops`` logs, and a way to wait on the loop until it has said something."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._heard: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self._heard is not None:
            loop, heard = self._heard
            if not loop.is_closed():
                loop.call_soon_threadsafe(heard.set)

    def count(self, text: str) -> int:
        return sum(text in message for message in self.messages)

    async def said(self, text: str, times: int = 1) -> None:
        heard = asyncio.Event()
        self._heard = (asyncio.get_running_loop(), heard)

        async def until() -> None:
            while self.count(text) < times:
                heard.clear()
                await heard.wait()

        try:
            await asyncio.wait_for(until(), WAIT)
        except TimeoutError:
            raise AssertionError(f"the watcher never said {text!r} {times} time(s): {self.messages}") from None


@pytest.fixture
def watcher_log() -> Iterator[WatcherLog]:
    log = WatcherLog()
    logger = logging.getLogger("chatbot.astops")
    level = logger.level
    logger.addHandler(log)
    logger.setLevel(logging.DEBUG)
    yield log
    logger.removeHandler(log)
    logger.setLevel(level)


@pytest.fixture
def conversation():
    return Conversation.objects.create(guest_id="stop-notify")


def _reply(conversation: Conversation) -> Message:
    return Message.objects.create(conversation=conversation, role="assistant", status="streaming")


def _stop(pk: int) -> list[int]:
    return replies.request_stop(Message.objects.filter(pk=pk))


def _listen_connections() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APPLICATION_NAME],
        )
        return [pid for (pid,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_stop_asked_in_this_process_stops_that_reply_and_no_other(conversation):
    asked, other = _reply(conversation), _reply(conversation)
    others_stopped: list[int] = []

    async def scenario() -> None:
        stopped = asyncio.Event()
        async with (
            async_stop_watcher.watch(asked.pk, stopped.set),
            async_stop_watcher.watch(other.pk, lambda: others_stopped.append(other.pk)),
        ):
            assert await in_thread(lambda: _stop(asked.pk)) == [asked.pk]
            await asyncio.wait_for(stopped.wait(), WAIT)

    asyncio.run(scenario())
    assert others_stopped == []
    assert Message.objects.get(pk=asked.pk).stop_requested
    assert not Message.objects.get(pk=other.pk).stop_requested


@pytest.mark.django_db(transaction=True)
def test_a_listening_watcher_hears_each_stop_for_its_own_reply_only(conversation, watcher_log):
    # request_stop stops at once only what the process's own watcher watches: this one must hear it.
    watcher = AsyncStopWatcher()
    first, second, third = _reply(conversation), _reply(conversation), _reply(conversation)

    async def scenario() -> None:
        stopped = {reply.pk: asyncio.Event() for reply in (first, second, third)}
        async with (
            watcher.watch(first.pk, stopped[first.pk].set),
            watcher.watch(second.pk, stopped[second.pk].set),
            watcher.watch(third.pk, stopped[third.pk].set),
        ):
            await watcher_log.said(CAUGHT_UP)
            await in_thread(lambda: _stop(first.pk))
            await in_thread(lambda: _stop(third.pk))
            await asyncio.wait_for(stopped[third.pk].wait(), WAIT)
            # Notifications arrive in commit order: the first reply's came before the third's.
            assert stopped[first.pk].is_set()
            assert not stopped[second.pk].is_set()

    asyncio.run(scenario())
    assert watcher_log.count("asked to stop (notified)") == 2


@pytest.mark.django_db(transaction=True)
def test_a_stop_asked_before_the_reply_was_watched_still_stops_it(conversation, watcher_log):
    watcher = AsyncStopWatcher()
    streaming, early = _reply(conversation), _reply(conversation)

    async def scenario() -> None:
        async with watcher.watch(streaming.pk, lambda: None):
            await watcher_log.said(CAUGHT_UP)
            # Announced while nobody here watches it: the notification is heard and passed over.
            await in_thread(lambda: _stop(early.pk))
            await watcher_log.said("Heard stop requests for 1 replies")
            stopped = asyncio.Event()
            async with watcher.watch(early.pk, stopped.set):
                await asyncio.wait_for(stopped.wait(), WAIT)

    asyncio.run(scenario())
    assert watcher_log.count(f"Reply {early.pk} asked to stop (looked up)") == 1


@contextmanager
def _watching(target: str, env: dict[str, str]) -> Iterator[WatchingProcess]:
    process = WatchingProcess(target, env)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


class WatchingProcess:
    """``tests/stop_watching.py`` in a process of its own: another server streaming a reply."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.stop_watching", target],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def read_until(self, text: str) -> str:
        """The next line holding ``text`` (the process gives up on its own after its ``WAIT``)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"the watching process ended before saying {text!r}:\n{self.output}")

    def finish(self) -> str:
        rest, _ = self.process.communicate(timeout=2 * WAIT)
        self.lines.append(rest)
        assert self.process.returncode == 0, self.output
        return self.output

    @property
    def output(self) -> str:
        return "".join(self.lines)


@pytest.mark.django_db(transaction=True)
def test_a_stop_asked_here_stops_a_reply_another_process_streams(conversation):
    reply = _reply(conversation)
    env = {"DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "DATABASE_URL": _database_url()}
    with _watching(str(reply.pk), env) as other_server:
        other_server.read_until(LISTENING)
        # Its look-up of what was asked before it listened is done: only a notification can tell it now.
        other_server.read_until(CAUGHT_UP)
        assert _stop(reply.pk) == [reply.pk]
        output = other_server.finish()
    assert f"Reply {reply.pk} asked to stop (notified)" in output
    assert f"stopped {reply.pk}" in output


@pytest.mark.django_db(transaction=True)
def test_a_listen_connection_the_database_ended_comes_back_and_misses_no_stop(conversation, watcher_log):
    watcher = AsyncStopWatcher()
    reply = _reply(conversation)

    def end_the_listen_connection_then_stop() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Waits until the backend is gone: the stop below commits (and is announced) after.
                cursor.execute(
                    "SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    [int(WAIT * 1000), APPLICATION_NAME],
                )
                assert cursor.fetchall() == [(True,)]
            assert _stop(reply.pk) == [reply.pk]

    async def scenario() -> None:
        stopped = asyncio.Event()
        async with watcher.watch(reply.pk, stopped.set):
            await watcher_log.said(LISTENING)
            await in_thread(end_the_listen_connection_then_stop)
            await asyncio.wait_for(stopped.wait(), WAIT)
            await watcher_log.said(LISTENING, times=2)

    asyncio.run(scenario())
    # Looked up once it listened again, or polled for while it could not.
    assert watcher_log.count(f"Reply {reply.pk} asked to stop") == 1
    # Once for the outage, however many attempts it took to listen again.
    assert watcher_log.count("Stop listener cannot listen") == 1
    assert watcher_log.count("Stop listener hears stop requests again") == 1


@asynccontextmanager
async def _notifications_dropped() -> AsyncIterator[int]:
    """A port on which a proxy to PostgreSQL passes everything but the notifications the server sends
    (NotificationResponse, ``A``): a connection through it listens and hears nothing, as one behind a
    pooler in transaction mode does. It reads the wire protocol's framing, so TLS must be off."""
    conf = connection.settings_dict
    database = (conf["HOST"] or "127.0.0.1", int(conf["PORT"] or 5432))

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*database)

        async def upstream() -> None:
            while data := await client_reader.read(65536):
                server_writer.write(data)
                await server_writer.drain()
            server_writer.close()

        async def downstream() -> None:
            try:
                while True:
                    header = await server_reader.readexactly(5)
                    body = await server_reader.readexactly(int.from_bytes(header[1:], "big") - 4)
                    if header[:1] != b"A":
                        client_writer.write(header + body)
                        await client_writer.drain()
            finally:
                client_writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)

    proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
    try:
        yield proxy.sockets[0].getsockname()[1]
    finally:
        proxy.close()


@pytest.mark.django_db(transaction=True)
def test_a_listen_connection_that_hears_no_one_gives_way_to_polling(conversation, watcher_log):
    watcher = AsyncStopWatcher(probe_timeout=0.5)  # it never comes: how long it is waited for does not matter
    reply = _reply(conversation)
    conf = connection.settings_dict
    saved = {"PORT": conf["PORT"], "OPTIONS": conf["OPTIONS"]}

    async def scenario() -> None:
        async with _notifications_dropped() as port:
            conf.update(PORT=str(port), OPTIONS={**conf["OPTIONS"], "sslmode": "disable", "gssencmode": "disable"})
            try:
                stopped = asyncio.Event()
                async with watcher.watch(reply.pk, stopped.set):
                    await watcher_log.said("does not hear what other connections announce")
                    await in_thread(lambda: _stop(reply.pk))
                    await asyncio.wait_for(stopped.wait(), WAIT)
            finally:
                conf.update(saved)

    asyncio.run(scenario())
    assert watcher.deaf, "the process polls from now on"
    assert watcher_log.count(LISTENING) == 0
    assert watcher_log.count(f"Reply {reply.pk} asked to stop (looked up)") == 1


@pytest.mark.django_db(transaction=True)
def test_one_listen_connection_per_loop_closed_once_nothing_is_watched(conversation, watcher_log):
    watcher = AsyncStopWatcher(idle_grace=0)
    first, second = _reply(conversation), _reply(conversation)

    async def scenario() -> None:
        async with watcher.watch(first.pk, lambda: None), watcher.watch(second.pk, lambda: None):
            await watcher_log.said(LISTENING)
            assert len(await in_thread(_listen_connections)) == 1
        await watcher_log.said(CLOSED)

    asyncio.run(scenario())
    # The server ends the backend a moment after its client closed the connection.
    deadline = time.monotonic() + WAIT
    while _listen_connections():
        assert time.monotonic() < deadline, "the listen connection was left open"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_a_reply_watched_within_the_idle_grace_keeps_the_listen_connection(conversation, watcher_log):
    watcher = AsyncStopWatcher(idle_grace=WAIT)
    first, second = _reply(conversation), _reply(conversation)

    async def scenario() -> None:
        async with watcher.watch(first.pk, lambda: None):
            await watcher_log.said(CAUGHT_UP)
            listening = await in_thread(_listen_connections)
        stopped = asyncio.Event()
        async with watcher.watch(second.pk, stopped.set):
            await watcher_log.said(CAUGHT_UP, times=2)  # the second reply's look-up is done
            assert await in_thread(_listen_connections) == listening
            await in_thread(lambda: _stop(second.pk))
            await asyncio.wait_for(stopped.wait(), WAIT)

    asyncio.run(scenario())
    assert watcher_log.count(LISTENING) == 1
    assert watcher_log.count(f"Reply {second.pk} asked to stop (notified)") == 1


@pytest.mark.django_db(transaction=True)
def test_watched_replies_are_kept_alive_in_one_update(conversation, watcher_log, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STOP_POLL_INTERVAL": 0.01}  # heartbeats 0.4 s apart
    first, second = _reply(conversation), _reply(conversation)
    long_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(updated=long_ago)

    async def scenario() -> None:
        async with async_stop_watcher.watch(first.pk, lambda: None), async_stop_watcher.watch(second.pk, lambda: None):
            await watcher_log.said("kept 2 alive")

    asyncio.run(scenario())
    recent = timezone.now() - timedelta(minutes=1)
    assert Message.objects.filter(pk__in=[first.pk, second.pk], updated__gt=recent).count() == 2


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stops") / "db.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_app", "DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return path


def test_on_sqlite_a_stop_another_server_asked_is_polled_for(sqlite_database):
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings_app", "DATABASE_URL": f"sqlite:///{sqlite_database}"}
    with _watching("new", env) as server:
        pk = int(server.read_until("reply ").split()[1])
        server.read_until(f"watching {pk}")
        # Another server marks the reply in the shared file.
        with sqlite3.connect(sqlite_database) as other_server:
            marked = other_server.execute("UPDATE chatbot_message SET stop_requested = 1 WHERE id = ?", [pk])
            assert marked.rowcount == 1
        output = server.finish()
    assert f"Reply {pk} asked to stop (looked up)" in output
    assert f"stopped {pk}" in output
    assert LISTENING not in output


@pytest.mark.django_db(transaction=True)
def test_a_stop_of_more_replies_than_one_notification_can_name_reaches_them_all(conversation, watcher_log):
    watcher = AsyncStopWatcher()
    many = Message.objects.bulk_create(
        Message(conversation=conversation, role="assistant", status="streaming") for _ in range(2500)
    )
    pks = [reply.pk for reply in many]
    assert len(",".join(map(str, pks)).encode()) > 8000, "PostgreSQL's limit for one payload"

    async def scenario() -> None:
        stopped: set[int] = set()
        all_stopped = asyncio.Event()

        def on_stop(pk: int) -> None:
            stopped.add(pk)
            if len(stopped) == len(pks):
                all_stopped.set()

        async with contextlib.AsyncExitStack() as watching:
            for pk in pks:
                await watching.enter_async_context(watcher.watch(pk, functools.partial(on_stop, pk)))
            await watcher_log.said(CAUGHT_UP)
            assert await in_thread(lambda: replies.request_stop(Message.objects.filter(pk__in=pks))) == pks
            await asyncio.wait_for(all_stopped.wait(), WAIT)

    asyncio.run(scenario())
    assert watcher_log.count("asked to stop (notified)") == len(pks)
