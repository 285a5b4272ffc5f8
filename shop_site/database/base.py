"""PostgreSQL with at most ``MAX_CONNECTIONS`` (a ``DATABASES`` key) open connections per process, and
closed connections kept for the next thread instead of closed.

A gthread server gives every thread its own connection. With enough threads to stream hundreds of
replies at once, a burst of chat messages opened more connections than PostgreSQL allows (100 here)
and requests failed with "too many clients". A thread now waits for a free slot instead (up to
``CONNECTION_WAIT`` seconds), and a finished request gives its connection back while other threads
are short of slots.

A connection a thread closes (at the end of a request, or the chat relay while a reply streams) is
parked, and the next thread that needs one takes it after a ``SELECT 1``: opening a PostgreSQL
connection costs a server process and several round trips, twice per chat message otherwise. A
parked connection that fails the check (the backend was terminated, the server restarted) is
dropped and a new one opened at once; there is no pool to drain or back off.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.postgresql import base
from psycopg import Connection, pq

_gates: dict[tuple[str, str], Gate] = {}
_gates_lock = threading.Lock()


class Gate:
    """Counts a process's open connections (in use and parked) and holds the parked ones."""

    def __init__(self, size: int, max_idle_age: float) -> None:
        self.size = size
        self.max_idle_age = max_idle_age
        self.used = 0
        self.waiting = 0
        self.idle: list[tuple[Connection, float]] = []
        self._cond = threading.Condition()

    def acquire(self, timeout: float) -> tuple[Connection, float] | None:
        """A parked connection and when it was parked, or None with a slot reserved for a new one;
        OperationalError on timeout."""
        with self._cond:
            self.waiting += 1
            try:
                if not self._cond.wait_for(lambda: self.idle or self.used < self.size, timeout=timeout):
                    raise OperationalError("every database connection of this process is busy")
            finally:
                self.waiting -= 1
            if self.idle:
                return self.idle.pop()
            self.used += 1
            return None

    def park(self, raw: Connection) -> None:
        with self._cond:
            self.idle.append((raw, time.monotonic()))
            self._cond.notify()

    def forget(self) -> None:
        """A connection was closed for good: its slot is free."""
        with self._cond:
            self.used -= 1
            self._cond.notify()

    def fresh(self, raw: Connection, parked_at: float) -> bool:
        """Young enough (``CONN_MAX_AGE``), idle, and answering."""
        try:
            if time.monotonic() - parked_at > self.max_idle_age:
                return False
            if raw.closed or raw.info.transaction_status != pq.TransactionStatus.IDLE:
                return False
            raw.execute("SELECT 1")
            return True
        except Exception:  # any driver error: the connection is not worth keeping
            return False

    @property
    def contended(self) -> bool:
        """Threads are waiting, or fewer than a quarter of the slots are free."""
        return self.waiting > 0 or (self.used - len(self.idle)) > self.size * 3 // 4


def _gate(settings_dict: dict[str, Any]) -> Gate | None:
    size = int(settings_dict.get("MAX_CONNECTIONS") or 0)
    if size <= 0:
        return None
    key = (str(settings_dict.get("HOST")), str(settings_dict.get("NAME")))
    with _gates_lock:
        if key not in _gates:
            # CONN_MAX_AGE is also how long a parked connection may wait: 0 (no persistent connections,
            # as in the test settings) parks none, None keeps them for as long as they answer.
            age = settings_dict.get("CONN_MAX_AGE", 0)
            _gates[key] = Gate(size, float("inf") if age is None else float(age))
        return _gates[key]


def _close_quietly(raw: Connection) -> None:
    # Closing a broken connection may fail; it is gone either way.
    with contextlib.suppress(Exception):
        raw.close()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_slot = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        gate = _gate(self.settings_dict)
        if gate is None:
            return super().get_new_connection(conn_params)
        timeout = float(self.settings_dict.get("CONNECTION_WAIT") or 10)
        while True:
            parked = gate.acquire(timeout)
            if parked is None:
                break
            raw, parked_at = parked
            if gate.fresh(raw, parked_at):
                self._holds_slot = True
                return raw
            _close_quietly(raw)
            gate.forget()
        try:
            connection = super().get_new_connection(conn_params)
        except BaseException:
            gate.forget()
            raise
        self._holds_slot = True
        return connection

    def _close(self) -> None:
        gate = _gate(self.settings_dict) if self._holds_slot else None
        if gate is None:
            super()._close()
            return
        self._holds_slot = False
        raw = self.connection
        reusable = (
            gate.max_idle_age > 0
            and not self.errors_occurred
            and not self.in_atomic_block
            and not raw.closed
            and raw.info.transaction_status == pq.TransactionStatus.IDLE
        )
        if reusable:
            gate.park(raw)
            return
        try:
            super()._close()
        finally:
            gate.forget()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when a request starts and ends: under contention, give the slot to a waiting thread
        # rather than keep an idle persistent connection.
        super().close_if_unusable_or_obsolete()
        gate = _gate(self.settings_dict)
        if self.connection is not None and gate is not None and gate.contended and not self.in_atomic_block:
            self.close()
