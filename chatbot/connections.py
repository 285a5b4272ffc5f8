"""A database connection lost under a piece of work: a failover, a pooler restart, or an operator's
``pg_terminate_backend`` ends every backend at once, and the next query of each thread fails with
"terminating connection due to administrator command" or "server closed the connection".

Work that committed nothing when its connection went (reads, a transaction whose ``COMMIT`` never
came back) may run again on a new connection. :func:`once_more_on_a_new_connection` does that once;
a second loss in a row means the database is really away, and the caller reports it as unavailable.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds before the second attempt. What ends every backend at once (a pooler restart, a failover
#: to a standby that is ready) tends to last about a second.
RETRY_PAUSE = 1.0

#: What the driver raises when the connection is gone (or could not be opened).
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def drop_connection() -> None:
    """Forget this thread's connection; the next query opens a new one. Closing a broken connection
    may fail: it is gone either way."""
    with contextlib.suppress(Exception):
        connection.close()


def release_connection() -> None:
    """Give this thread's connection back while a reply streams: holding one per open stream would cap
    the conversations at the database's connection limit. Inside a transaction (tests) it must stay."""
    if connection.connection is not None and not connection.in_atomic_block:
        drop_connection()


def once_more_on_a_new_connection(work: Callable[[bool], T]) -> T:
    """``work(False)``; when it loses its connection, ``work(True)`` once more on a new one.

    ``work`` is told it runs again so it can find what a first attempt may have committed. Inside a
    transaction opened by a caller nothing can be retried: the error goes up as it is.
    """
    try:
        return work(False)
    except CONNECTION_ERRORS as exc:
        if connection.in_atomic_block:
            raise
        logger.warning("Database connection lost (%s); trying once more on a new connection", _first_line(exc))
        drop_connection()
    time.sleep(RETRY_PAUSE)
    return work(True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n", 1)[0] or type(exc).__name__
