"""Background work without a task backend runs on daemon threads (chatbot.tasks)."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connections

from chatbot.notifications import send_handoff_email
from chatbot.tasks import enqueue
from shop_site.database.base import _gate


def _run_inline(task, *args) -> None:
    """Enqueue ``task`` and wait for its thread to end."""
    before = set(threading.enumerate())
    enqueue(task, *args)
    for thread in set(threading.enumerate()) - before:
        if thread.name == f"chatbot-{task.name}":
            thread.join(10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.demo
def test_task_threads_give_their_database_connections_back(settings, monkeypatch, caplog):
    # With persistent connections (the demo's CONN_MAX_AGE) a task's thread ended with its connection
    # open: nothing used it again, and it kept one of the connections shop_site.database allows a
    # process for good (until three quarters of them were gone and threads began to close theirs).
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_EMAILS": ["staff@example.com"]}  # so the task queries
    database = connections.settings["default"]
    monkeypatch.setitem(database, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(database, "CONNECTION_WAIT", 1)
    gate = _gate(database)
    assert gate is not None, "the test settings bound connections per process as the demo does"
    in_use = gate.used
    caplog.set_level(logging.ERROR, logger="chatbot.tasks")
    for _ in range(5):
        _run_inline(send_handoff_email, 0)
    assert [record.getMessage() for record in caplog.records] == []
    assert gate.used == in_use, "every task's connection is closed when its thread ends"
