"""Background work through Django Tasks (the django-tasks backport).

With a real task backend configured (the database backend and ``manage.py db_worker`` in the demo),
work is queued durably. A project that configured none gets django-tasks' immediate backend, which
would run a minute-long reply inside the web request; there :func:`enqueue` runs the task on a
daemon thread instead, so endpoints still answer at once. Replies left unfinished by a process that
died are marked failed by :func:`chatbot.relay` the next time the conversation is used.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import connections
from django_tasks import task_backends
from django_tasks.backends.immediate import ImmediateBackend

logger = logging.getLogger(__name__)


def runs_inline() -> bool:
    return isinstance(task_backends["default"], ImmediateBackend)


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task`` (a ``django_tasks.task``); never runs it inside the caller's request."""
    if not runs_inline():
        task.enqueue(*args, **kwargs)
        return

    def run() -> None:
        try:
            task.call(*args, **kwargs)
        except Exception:
            logger.exception("Background task %s failed", task.name)
        finally:
            # The thread ends here, so its connections must too: kept for CONN_MAX_AGE they were never
            # used again, and a server that bounds its connections per process lost one for good.
            connections.close_all()

    threading.Thread(target=run, name=f"chatbot-{task.name}", daemon=True).start()
