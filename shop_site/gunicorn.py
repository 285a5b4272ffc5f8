"""gunicorn's configuration for `make demo` and the container (``--config python:shop_site.gunicorn``).

The storefront's background work is queued in the database (``TASKS`` in shop_site/settings.py), so
the server starts the task worker, ``manage.py db_worker``, beside itself and stops it when it stops:
one command serves the site and runs its tasks. Where workers run on their own (their own containers,
``python manage.py db_worker``), ``RUN_TASK_WORKER=0`` starts the web server alone.

The worker ends when its database connection is lost (a failover, a restart, ``pg_terminate_backend``:
django_tasks_db lets the error through), so the server starts it again while it is serving, after a
pause that grows from one second to half a minute while it keeps ending, and logs one line each time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: Seconds the worker may take to finish the task it is running once asked to stop.
WORKER_STOP_TIMEOUT = 30
#: The pauses before starting a worker that ended again, in seconds (the last one repeats).
WORKER_RESTART_PAUSES = (1, 2, 5, 10, 30)
#: A worker that ran this long is doing its job: the next restart starts from the first pause.
WORKER_STEADY_AFTER = 60

_MANAGE = Path(__file__).resolve().parent.parent / "manage.py"
_worker: subprocess.Popen | None = None
_stopping = threading.Event()


def on_starting(server: Any) -> None:
    if os.environ.get("RUN_TASK_WORKER", "1").lower() in ("0", "false", "no", "off"):
        return
    _start_worker(server)
    threading.Thread(target=_keep_worker, args=(server,), name="task-worker-keeper", daemon=True).start()


def _start_worker(server: Any) -> None:
    global _worker
    # --no-reload: the autoreloader would run the worker in a child this process could not stop.
    command = [sys.executable, str(_MANAGE), "db_worker", "--no-reload"]
    _worker = subprocess.Popen(command)  # noqa: S603 - our own interpreter and manage.py
    server.log.info("Started the task worker (manage.py db_worker, pid %s)", _worker.pid)


def _keep_worker(server: Any) -> None:
    failures = 0
    while _worker is not None and not _stopping.is_set():
        started = time.monotonic()
        # No exit code: gunicorn's master reaps every child it is told about, ours too, and then
        # Popen.wait() can only tell that the worker is gone.
        _worker.wait()
        if _stopping.is_set():
            return
        failures = 1 if time.monotonic() - started > WORKER_STEADY_AFTER else failures + 1
        pause = WORKER_RESTART_PAUSES[min(failures, len(WORKER_RESTART_PAUSES)) - 1]
        server.log.warning("The task worker ended; starting it again in %s s", pause)
        if _stopping.wait(pause):
            return
        _start_worker(server)


def on_exit(server: Any) -> None:
    _stopping.set()
    if _worker is None or _worker.poll() is not None:
        return
    _worker.terminate()  # db_worker finishes the task it is running, then exits
    try:
        _worker.wait(WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _worker.kill()
        _worker.wait()
