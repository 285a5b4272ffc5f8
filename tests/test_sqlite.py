"""The demo's default database, SQLite, under simultaneous visitors.

A real SQLite file, migrated by ``manage.py migrate``, behind the production server (gunicorn with
uvicorn workers, two processes, as ``make demo`` runs it; and the WSGI option, gthread). Every visitor
posts at the same moment; each gets an answer or a clear 409/429, never a 5xx.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench.servers import production_command
from tests.conftest import parse_sse
from tests.test_reliability import WAIT, HttpVisitor, _free_port, wait_for_server

pytestmark = pytest.mark.demo

ROOT = Path(__file__).resolve().parent.parent
VISITORS = 40


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "db.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_site.settings", "DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return path


@pytest.fixture(params=["asgi", "wsgi"])
def sqlite_server(request, migrated_sqlite: Path, tmp_path: Path) -> Iterator[str]:
    database = tmp_path / "db.sqlite3"
    database.write_bytes(migrated_sqlite.read_bytes())
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop_site.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "CHATBOT_RATE_LIMITS": "off",
        "LOG_LEVEL": "WARNING",
        "RUN_TASK_WORKER": "0",
    }
    args = production_command(port, workers=2, threads=VISITORS, server=request.param)
    with wait_for_server(args, port, env, tmp_path / "server.log") as base:
        yield base


def test_the_demo_database_is_sqlite_in_wal_mode_with_immediate_transactions(migrated_sqlite):
    script = (
        "import django; django.setup()\n"
        "from django.db import connection; connection.ensure_connection()\n"
        "print(connection.transaction_mode)\n"
        "with connection.cursor() as c:\n"
        "    print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA busy_timeout').fetchone()[0])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_site.settings", "DATABASE_URL": f"sqlite:///{migrated_sqlite}"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    mode, journal, busy_ms = out
    assert (mode, journal) == ("IMMEDIATE", "wal")
    assert int(busy_ms) >= 10_000
    with sqlite3.connect(migrated_sqlite) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_simultaneous_visitors_on_sqlite_all_get_answers_never_a_5xx(sqlite_server, tmp_path):
    visitors = [HttpVisitor(sqlite_server) for _ in range(VISITORS)]
    start = threading.Barrier(VISITORS)
    outcomes: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def visit(visitor: HttpVisitor, index: int) -> None:
        start.wait(timeout=WAIT)
        response = visitor.start(f"Do you sell teapots? ({index})")
        with lock:
            outcomes.append((response.status_code, response.content))

    threads = [threading.Thread(target=visit, args=(visitor, n)) for n, visitor in enumerate(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT * 2)
    log = (tmp_path / "server.log").read_text()
    assert len(outcomes) == VISITORS, log
    assert [(status, body[:200]) for status, body in outcomes if status >= 500] == [], log
    assert "database is locked" not in log
    for status, body in outcomes:
        if status == 200:
            name, data = parse_sse(body)[-1]
            assert (name, data["status"]) == ("done", "done"), data
        else:
            assert status in (409, 429) and "error" in json.loads(body), body[:300]
    # The health check still finds the database, and every answer the visitors saw is stored.
    assert requests.get(f"{sqlite_server}/api/chatbot/health", timeout=WAIT).status_code == 200
    with sqlite3.connect(tmp_path / "db.sqlite3") as raw:
        (answered,) = raw.execute(
            "SELECT count(*) FROM chatbot_message WHERE role = 'assistant' AND status = 'done'"
        ).fetchone()
    assert answered == sum(1 for status, _ in outcomes if status == 200)
