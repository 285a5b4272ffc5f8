"""One health implementation behind both ``GET /api/chatbot/health`` and ``manage.py chatbot_check``.

The endpoint needs no authentication, so each check answers a status and a fixed code ("ok",
"unreachable", "upstream_auth", ...), never what a database driver or an upstream said: an
upstream's error body can quote a masked key or name an internal host. The details go to the log.
"""

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
    #: A fixed code, safe to show anyone: "ok", "disabled", or what failed.
    detail: str = "ok"
    #: What the component said, for the log and ``chatbot_check`` only.
    note: str = ""


def check_database() -> CheckOutcome:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down"; the type is logged
        logger.warning("Health: database check failed: %s", type(exc).__name__)
        return CheckOutcome(False, "unreachable")
    return CheckOutcome(True)


def check_provider() -> CheckOutcome:
    from chatbot.providers import get_provider

    try:
        result = get_provider().health()
    except Exception as exc:
        logger.warning("Health: provider %s check failed: %s", chatbot_settings.PROVIDER, type(exc).__name__)
        return CheckOutcome(False, "error")
    if not result.ok:
        logger.warning("Health: provider %s failed: %s", chatbot_settings.PROVIDER, result.detail)
        return CheckOutcome(False, _code(result.code) or "unavailable", result.detail)
    return CheckOutcome(True, note=result.detail)


def check_stream() -> CheckOutcome:
    """The chosen transport's outside service (``disabled`` for the builtin transport)."""
    from chatbot.transports import get_transport, system_checks

    if system_checks(chatbot_settings):  # Stream switched on without both keys, an unknown transport
        return CheckOutcome(False, "not_configured")
    transport = get_transport()
    try:
        outcome = transport.health()
    except Exception as exc:
        logger.warning("Health: transport %s check failed: %s", transport.name, type(exc).__name__)
        return CheckOutcome(False, "error")
    if not outcome.ok:
        logger.warning("Health: transport %s failed: %s", transport.name, outcome.detail)
    return CheckOutcome(outcome.ok, _code(outcome.detail) or ("ok" if outcome.ok else "unavailable"), outcome.note)


def _code(text: str) -> str:
    # Codes are short identifiers; anything else is a description and stays in the log.
    code = text.strip().replace(" ", "_").lower()
    return code if code and len(code) <= 40 and code.replace("_", "").isalnum() else ""


CHECKS: dict[str, Callable[[], CheckOutcome]] = {
    "database": check_database,
    "provider": check_provider,
    "stream": check_stream,
}


def run_checks(*, notes: bool = False) -> dict:
    """``{status, timestamp, checks: {name: {ok, detail}}}``; status is "ok" only if every check is,
    and each ``detail`` is a code ("ok", "disabled", or what failed). ``notes`` (``chatbot_check``, run
    by an operator) puts what each component said in ``detail`` instead."""
    results = {name: check() for name, check in CHECKS.items()}
    return {
        "status": "ok" if all(r.ok for r in results.values()) else "error",
        "timestamp": timezone.now().isoformat(),
        "checks": {
            name: {"ok": r.ok, "detail": (r.note or r.detail) if notes else r.detail} for name, r in results.items()
        },
    }
