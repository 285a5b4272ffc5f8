"""gunicorn's configuration for `make demo` and the container (``--config python:shop_site.gunicorn``).

The storefront's background work is queued in the database (``TASKS`` in shop_site/settings.py), so
the server starts the task worker, ``manage.py db_worker``, beside itself and stops it when it stops:
one command serves the site and runs its tasks. Where workers run on their own (their own containers,
``python manage.py db_worker``), ``RUN_TASK_WORKER=0`` starts the web server alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Seconds the worker may take to finish the task it is running once asked to stop.
WORKER_STOP_TIMEOUT = 30

_MANAGE = Path(__file__).resolve().parent.parent / "manage.py"
_worker: subprocess.Popen | None = None


def on_starting(server: Any) -> None:
    global _worker
    if os.environ.get("RUN_TASK_WORKER", "1").lower() in ("0", "false", "no", "off"):
        return
    # --no-reload: the autoreloader would run the worker in a child this process could not stop.
    command = [sys.executable, str(_MANAGE), "db_worker", "--no-reload"]
    _worker = subprocess.Popen(command)  # noqa: S603 - our own interpreter and manage.py
    server.log.info("Started the task worker (manage.py db_worker, pid %s)", _worker.pid)


def on_exit(server: Any) -> None:
    if _worker is None or _worker.poll() is not None:
        return
    _worker.terminate()  # db_worker finishes the task it is running, then exits
    try:
        _worker.wait(WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _worker.kill()
        _worker.wait()
