"""HTTP to chatbot-node for data sync: one place for the base URL, the SSO JWT, timeouts and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


#: The dataset numbers chatbot-node's ``updateDataset/:type`` route reads (``parseInt``), and the name
#: it answers with for each.
DATASET_TYPES = {"products": 1, "orders": 2, "customers": 3}
DATASET_NAMES = {"products": "product", "orders": "order", "customers": "customer"}


def sync_path(kind: str) -> str:
    """``SYNC_PATH`` for ``kind``: ``{type}`` is its dataset number, ``{kind}`` the word."""
    return chatbot_settings.SYNC_PATH.format(type=DATASET_TYPES[kind], kind=kind)


def webhook_path(record_type: str) -> str:
    """``WEBHOOK_PATH`` for ``product``, ``order`` or ``customer`` events (``{type}``)."""
    return chatbot_settings.WEBHOOK_PATH.format(type=record_type)


def auth_headers() -> dict[str, str]:
    """The SSO JWT chatbot-node checks on every request, as for chat."""
    secret, shop_id = chatbot_settings.SSO_SECRET, chatbot_settings.SHOP_ID
    if not secret or not shop_id:
        # Fail closed: an unauthenticated upload would be refused or, worse, accepted.
        raise ChatbotConfigurationError("CHATBOT_SSO_SECRET and CHATBOT_SHOP_ID are required to sync")
    return {"Authorization": f"Bearer {sso_token(secret, shop_id)}"}


@dataclass(frozen=True)
class Answer:
    status: int
    #: The JSON body, or None when there was none or it was not JSON.
    data: Any


def post(
    path: str, body: bytes, headers: dict[str, str], *, session: requests.Session | None = None, refused_hint: str = ""
) -> Answer:
    """POST ``body`` (JSON bytes); raises :class:`SyncError` unless the status is 2xx. ``refused_hint``
    is added to the error of a 401 or 403: which secret must match on chatbot-node's side."""
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
        status = response.status_code
        if not 200 <= status < 300:
            detail = f"HTTP {status}: {response.text[:200]}"
            if status in (401, 403) and refused_hint:
                detail += f" ({refused_hint})"
            raise SyncError(detail, upstream_status=status)
        try:
            data = json.loads(response.content) if response.content else None
        except ValueError:
            data = None
        return Answer(status, data)
