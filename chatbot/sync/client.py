"""HTTP to chatbot-node for data sync: one place for the base URL, the SSO JWT, timeouts and errors."""

from __future__ import annotations

import json
from typing import Any

import requests

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError, ChatbotError
from chatbot.providers.chatbot_node import sso_token


class SyncError(ChatbotError):
    """chatbot-node did not accept what was sent (network failure, timeout or an error status)."""

    code = "sync_failed"

    def __init__(self, detail: str, *, upstream_status: int | None = None):
        super().__init__(detail)
        # Not ``status``: that is the HTTP status the chat API answers a ChatbotError with.
        self.upstream_status = upstream_status  # chatbot-node's HTTP status, when there was one


def node_url(path: str) -> str:
    base = (chatbot_settings.NODE_URL or "").rstrip("/")
    if not base:
        raise ChatbotConfigurationError("CHATBOT_NODE_URL is not set")
    return f"{base}/{path.lstrip('/')}"


def sync_path(kind: str) -> str:
    return chatbot_settings.SYNC_PATH.format(kind=kind)


def auth_headers() -> dict[str, str]:
    """The SSO JWT chatbot-node checks on every request, as for chat."""
    secret, shop_id = chatbot_settings.SSO_SECRET, chatbot_settings.SHOP_ID
    if not secret or not shop_id:
        # Fail closed: an unauthenticated upload would be refused or, worse, accepted.
        raise ChatbotConfigurationError("CHATBOT_SSO_SECRET and CHATBOT_SHOP_ID are required to sync")
    return {"Authorization": f"Bearer {sso_token(secret, shop_id)}"}


def post(path: str, body: bytes, headers: dict[str, str], *, session: requests.Session | None = None) -> int:
    """POST ``body`` (JSON bytes) and return the status; raises :class:`SyncError` unless 2xx."""
    timeout = (float(chatbot_settings.CONNECT_TIMEOUT), float(chatbot_settings.READ_TIMEOUT))
    sender = session or requests
    try:
        response = sender.post(
            node_url(path), data=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout
        )
    except requests.Timeout as exc:
        raise SyncError(f"timed out: {exc.__class__.__name__}") from exc
    except requests.RequestException as exc:
        raise SyncError(f"connection failed: {exc.__class__.__name__}") from exc
    with response:
        if not 200 <= response.status_code < 300:
            raise SyncError(f"HTTP {response.status_code}: {response.text[:200]}", upstream_status=response.status_code)
        return response.status_code


def encode(data: Any) -> bytes:
    # Compact and stable: the webhook signature is computed over exactly these bytes.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
