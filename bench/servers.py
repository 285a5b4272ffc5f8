"""Processes a benchmark needs, started on 127.0.0.1 and always stopped: the bench database, the
production server (gunicorn with uvicorn workers, options as in the Makefile's demo target, or the
WSGI option with gthread workers) and the paced fake.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbot_bench")
#: The shared cache the README's production setup names (sessions, rate limits, the Stream user cache);
#: ``BENCH_CACHE_URL=locmemcache://`` measures the demo's default of per-process memory instead.
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/15")
#: Same defaults as the Makefile's demo target.
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
THREADS = int(os.environ.get("WEB_THREADS", "128"))


def server_log(name: str) -> Path:
    """Where a run's server output goes (errors included), next to its results."""
    path = ROOT / "bench" / "results" / f"{name}.log"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(environ: dict[str, str] | None = None, **chatbot: Any) -> dict[str, str]:
    """The server's environment: the bench settings, ``environ`` (settings the demo reads from the
    environment), and ``chatbot`` as extra ``CHATBOT`` keys."""
    env = {
        **os.environ,
        **(environ or {}),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": DATABASE_URL,
        "CACHE_URL": CACHE_URL,
        "BENCH_CHATBOT": json.dumps(chatbot),
        "PYTHONPATH": str(ROOT),
    }
    return env


def manage(*args: str, **chatbot: Any) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=bench_env(**chatbot), check=True)


#: Every benchmark runs against the demo shop grown to this many products.
CATALOG_SIZE = int(os.environ.get("BENCH_PRODUCTS", "10000"))


def ensure_database(products: int = CATALOG_SIZE) -> None:
    """Create the bench database if needed, migrate it and load the demo shop grown to ``products``."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", "-v", "0")
    args = ["load_demo_shop", "--quiet"]
    if products:
        args += ["--products", str(products)]
    manage(*args)


def reset_conversations() -> None:
    """Start each run from an empty chat history, so "no message lost" counts only this run's rows."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("TRUNCATE chatbot_message, chatbot_conversation RESTART IDENTITY CASCADE")
        conn.execute("TRUNCATE django_session")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session`` and everything in its group (gunicorn's workers):
    SIGTERM, then SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def process(
    args: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen]:
    """``args`` started in a session of its own, once it listens on ``port``; yields the process (the
    root of its tree, for measuring it)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(args, cwd=cwd, env=env or bench_env(), stdout=out, stderr=out, start_new_session=True)
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        stop_group(proc)
        if log:
            out.close()


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (a server's workers, the task worker beside it)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue  # ended in between
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def production_command(port: int, *, workers: int, threads: int, server: str = "asgi") -> list[str]:
    """How make demo and the container serve, on 127.0.0.1:``port``: gunicorn with uvicorn workers on
    the ASGI application (``server="asgi"``), or with gthread workers on the WSGI one (``"wsgi"``, the
    smaller option docs/deploying.md describes; ``threads`` applies to it alone). Both start the task
    worker beside the server (shop_site/gunicorn.py)."""
    common = ["--config", "python:shop_site.gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if server == "wsgi":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "shop_site.wsgi",
            *common,
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
        ]
    if server != "asgi":
        raise ValueError(f"server must be asgi or wsgi, not {server!r}")
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "shop_site.asgi:application",
        *common,
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
    ]


@contextlib.contextmanager
def gunicorn(
    *,
    workers: int = WORKERS,
    threads: int = THREADS,
    server: str = "asgi",
    log: Path | None = None,
    environ: dict[str, str] | None = None,
    **chatbot: Any,
) -> Iterator[str]:
    """The production server on a free port; yields its base URL."""
    port = free_port()
    command = production_command(port, workers=workers, threads=threads, server=server)
    args = [*command, "--backlog", "2048", "--graceful-timeout", "5"]
    with process(args, port, bench_env(environ, **chatbot), log):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def pacer(*, ttft: float, interval: float, tokens: int) -> Iterator[str]:
    """The paced OpenAI-compatible fake; yields its ``/v1`` base URL."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "bench.pacer",
        "--port",
        str(port),
        "--ttft",
        str(ttft),
        "--interval",
        str(interval),
        "--tokens",
        str(tokens),
    ]
    with process(args, port):
        yield f"http://127.0.0.1:{port}/v1"
