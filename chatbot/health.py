"""One health implementation behind both ``GET /api/chatbot/health`` and ``manage.py chatbot_check``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from chatbot.conf import chatbot_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckOutcome:
    ok: bool
    detail: str = ""


def check_database() -> CheckOutcome:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down"; the type is logged
        logger.warning("Health: database check failed: %s", type(exc).__name__)
        return CheckOutcome(False, "database unreachable")
    return CheckOutcome(True, "ok")


def check_provider() -> CheckOutcome:
    from chatbot.providers import get_provider

    try:
        result = get_provider().health()
    except Exception as exc:
        logger.warning("Health: provider check failed: %s", type(exc).__name__)
        return CheckOutcome(False, f"{chatbot_settings.PROVIDER}: {type(exc).__name__}")
    return CheckOutcome(result.ok, result.detail)


def check_stream() -> CheckOutcome:
    if not chatbot_settings.STREAM_CHAT_ENABLED:
        return CheckOutcome(True, "disabled")
    if not (chatbot_settings.STREAM_CHAT_API_KEY and chatbot_settings.STREAM_CHAT_API_SECRET):
        return CheckOutcome(False, "enabled but not configured")
    try:
        from chatbot.transports.stream import stream_health
    except ImportError:
        return CheckOutcome(True, "configured")
    ok, detail = stream_health()
    return CheckOutcome(ok, detail)


CHECKS: dict[str, Callable[[], CheckOutcome]] = {
    "database": check_database,
    "provider": check_provider,
    "stream": check_stream,
}


def run_checks() -> dict:
    """``{status, timestamp, checks: {name: {ok, detail}}}``; status is "ok" only if every check is."""
    results = {name: check() for name, check in CHECKS.items()}
    return {
        "status": "ok" if all(r.ok for r in results.values()) else "error",
        "timestamp": timezone.now().isoformat(),
        "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
    }
