"""Rate limits per visitor and per IP, from ``CHATBOT["RATE_LIMITS"]`` (e.g. ``visitor=20/m,ip=120/m``).

Counters live in Django's default cache: with several web servers, point it at a shared cache
(Redis, Memcached) so the limits hold across them.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from chatbot.conf import chatbot_settings
from chatbot.connections import CONNECTION_ERRORS
from chatbot.exceptions import ServiceUnavailable
from chatbot.identity import get_visitor

logger = logging.getLogger(__name__)


def parse_rate_limits(value: str) -> dict[str, str]:
    if not value or value.strip().lower() == "off":
        return {}
    limits = {}
    for part in value.split(","):
        name, _, rate = part.partition("=")
        if name.strip() and rate.strip():
            limits[name.strip()] = rate.strip()
    return limits


class _ChatbotThrottle(SimpleRateThrottle):
    limit_name = ""

    def __init__(self) -> None:
        # The rate is read per request so settings changes apply without a restart.
        pass

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = parse_rate_limits(chatbot_settings.RATE_LIMITS).get(self.limit_name)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except (ServiceUnavailable, *CONNECTION_ERRORS):
            raise
        except Exception as exc:  # any cache backend's error: a limit that cannot be counted is not skipped
            logger.warning("The cache could not count requests: %s", type(exc).__name__)
            raise ServiceUnavailable("cache unavailable") from exc

    def get_rate(self) -> str | None:
        return None


class VisitorRateThrottle(_ChatbotThrottle):
    limit_name = "visitor"
    scope = "chatbot_visitor"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # A first-time visitor gets their id here, so their first message counts too.
        visitor = get_visitor(request._request, create=True)
        return f"chatbot:throttle:visitor:{view.throttle_scope}:{visitor.key}"


class IPRateThrottle(_ChatbotThrottle):
    limit_name = "ip"
    scope = "chatbot_ip"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return f"chatbot:throttle:ip:{view.throttle_scope}:{self.get_ident(request)}"

    def get_ident(self, request: Any) -> str:
        # DRF trusts X-Forwarded-For when NUM_PROXIES is unset, so any client could pick its own "IP".
        # Only the socket's address counts until the project says how many proxies stand in front.
        if api_settings.NUM_PROXIES is None:
            return str(request.META.get("REMOTE_ADDR", ""))
        return super().get_ident(request)
