"""PostgreSQL, with at most ``MAX_CONNECTIONS`` (a ``DATABASES`` key) open connections per process.

A gthread server gives every thread its own connection. With enough threads to stream hundreds of
replies at once, a burst of chat messages opened more connections than PostgreSQL allows (100 here)
and requests failed with "too many clients". A thread now waits for a free slot instead (up to
``CONNECTION_WAIT`` seconds), and a finished request gives its connection back while other threads
are short of slots, so ``CONN_MAX_AGE`` still saves a connect per request on a quiet server.

Every connection is still a fresh ``psycopg`` connection, checked by ``CONN_HEALTH_CHECKS`` before
reuse: after backends are terminated the next request simply opens a new one, with no pool to drain.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.postgresql import base

_gates: dict[tuple[str, str], Gate] = {}
_gates_lock = threading.Lock()


class Gate:
    """A counting semaphore that can say how contended it is."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self.waiting = 0
        self._cond = threading.Condition()

    def acquire(self, timeout: float) -> bool:
        with self._cond:
            self.waiting += 1
            try:
                return self._cond.wait_for(lambda: self.used < self.size, timeout=timeout) and self._take()
            finally:
                self.waiting -= 1

    def _take(self) -> bool:
        self.used += 1
        return True

    def release(self) -> None:
        with self._cond:
            self.used -= 1
            self._cond.notify()

    @property
    def contended(self) -> bool:
        """Threads are waiting, or fewer than a quarter of the slots are free."""
        return self.waiting > 0 or self.used > self.size * 3 // 4


def _gate(settings_dict: dict[str, Any]) -> Gate | None:
    size = int(settings_dict.get("MAX_CONNECTIONS") or 0)
    if size <= 0:
        return None
    key = (str(settings_dict.get("HOST")), str(settings_dict.get("NAME")))
    with _gates_lock:
        if key not in _gates:
            _gates[key] = Gate(size)
        return _gates[key]


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_slot = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        gate = _gate(self.settings_dict)
        if gate is not None and not self._holds_slot:
            if not gate.acquire(timeout=float(self.settings_dict.get("CONNECTION_WAIT") or 10)):
                raise OperationalError("every database connection of this process is busy")
            self._holds_slot = True
        try:
            return super().get_new_connection(conn_params)
        except BaseException:
            self._release_slot()
            raise

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_slot()

    def _release_slot(self) -> None:
        if self._holds_slot:
            self._holds_slot = False
            gate = _gate(self.settings_dict)
            if gate is not None:
                gate.release()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when a request starts and ends: under contention, give the slot to a waiting thread
        # rather than keep an idle persistent connection.
        super().close_if_unusable_or_obsolete()
        gate = _gate(self.settings_dict)
        if self.connection is not None and gate is not None and gate.contended and not self.in_atomic_block:
            self.close()
