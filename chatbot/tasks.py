"""Background work goes through the Tasks API: Django's own ``django.tasks`` where Django has it (6.0
and later), the django-tasks backport where it does not. Every module of the app takes ``task`` and
``task_backends`` from here, so the switch is made once.

Which backend runs the work is the project's choice (``settings.TASKS``). The database backend
(``django_tasks_db``, run by ``manage.py db_worker``) keeps queued work across restarts and is what
the demo uses; RQ or Celery backends suit larger shops (docs/deploying.md). django-tasks' immediate
backend runs each task inside the request or command that queued it: for tests and development only,
and system check ``chatbot.W002`` says so. Tasks of this app that wait in the database queue for
longer than ``WORKER_MISSING_AFTER`` mean no worker is running: check ``chatbot.W003`` names the
command to start (:func:`stalled_tasks`).
"""

from __future__ import annotations

from datetime import timedelta
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.db.models import Q
from django.utils import timezone

if find_spec("django.tasks"):  # Django 6.0+
    from django.tasks import task, task_backends  # type: ignore[import-untyped,unused-ignore]
    from django.tasks.backends.immediate import ImmediateBackend  # type: ignore[import-untyped,unused-ignore]
else:
    from django_tasks import task, task_backends  # type: ignore[assignment,no-redef,unused-ignore]
    from django_tasks.backends.immediate import (  # type: ignore[assignment,no-redef,unused-ignore]
        ImmediateBackend,
    )

__all__ = ["task", "task_backends", "runs_in_request", "can_defer", "worker_command", "stalled_tasks"]

#: The app's tasks are named by their module path; these prefixes pick them out of a shared queue.
TASK_PATH_PREFIX = "chatbot."


def default_backend() -> Any:
    return task_backends["default"]


def runs_in_request() -> bool:
    """True when tasks run inside the request or command that queues them (the immediate backend)."""
    return isinstance(default_backend(), ImmediateBackend)


def can_defer() -> bool:
    """True when the backend can hold a task until a later time (``Task.using(run_after=...)``)."""
    return bool(default_backend().supports_defer)


def uses_database_queue() -> bool:
    backend = default_backend()
    return apps.is_installed("django_tasks_db") and type(backend).__module__.startswith("django_tasks_db")


def worker_command() -> str:
    """The command that starts a worker for the configured backend, as the checks tell it."""
    backend = default_backend()
    module = type(backend).__module__
    if module.startswith("django_tasks_db"):
        return "python manage.py db_worker"
    if module.startswith("django_tasks_rq"):
        return "python manage.py rqworker --job-class django_tasks_rq.Job --with-scheduler"
    return f"the worker of {module}.{type(backend).__name__}"


def stalled_tasks(after: float) -> int:
    """How many of the app's tasks have been ready in the database queue for more than ``after``
    seconds without a worker taking them; 0 for backends that are not the database queue."""
    if not uses_database_queue():
        return 0
    from django_tasks_db.models import DBTaskResult, get_date_max

    since = timezone.now() - timedelta(seconds=after)
    return (
        DBTaskResult.objects.ready()
        .filter(backend_name=default_backend().alias, task_path__startswith=TASK_PATH_PREFIX)
        .filter(enqueued_at__lt=since)
        # A deferred task is due from its run_after, not from when it was queued.
        .filter(Q(run_after=get_date_max()) | Q(run_after__lt=since))
        .count()
    )
