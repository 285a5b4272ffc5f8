"""The app's settings: one dict of defaults, read lazily from ``settings.CHATBOT``.

Every key can be set in ``settings.CHATBOT``; :func:`settings_from_env` builds that dict from the
environment variable names the original Node system used, so a deployment can keep its ``.env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    "ENABLED": True,
    # local | chatbot_node | coze | openai | a dotted path to a Provider class
    "PROVIDER": "local",
    # oscar | none | a dotted path to a ShopAdapter class; None picks oscar when it is installed
    "SHOP_ADAPTER": None,
    "SHOP_NAME": "",
    "ASSISTANT_NAME": "Shop assistant",
    # chatbot-node
    "NODE_URL": "",
    "SHOP_ID": "",
    "SSO_SECRET": "",
    # The Coze bot chatbot-node calls; empty: COZE_BOT_ID.
    "NODE_BOT_ID": "",
    "WEBHOOK_SECRET": "",
    # Data sync to chatbot-node (chatbot.sync). chatbot-node reads the dataset type as a number
    # ({type}: 1 products, 2 orders, 3 customers) and has one webhook route per record type
    # ({type}: product, order, customer).
    "SYNC_PATH": "/api/coze/bot/updateDataset/{type}",
    "WEBHOOK_PATH": "/api/webhooks/evershop/{type}",
    # Seconds before each retry of a failed webhook delivery; one more attempt than delays.
    "WEBHOOK_RETRY_DELAYS": [10, 60, 300, 1800, 7200],
    # Seconds a task of the app may wait in the database queue before the checks say no worker runs.
    "WORKER_MISSING_AFTER": 300,
    # Coze
    "COZE_API_BASE": "https://api.coze.cn",
    "COZE_BOT_ID": "",
    "COZE_CLIENT_ID": "",
    "COZE_PUBLIC_KEY_ID": "",
    "COZE_PRIVATE_KEY_FILE": "",
    "COZE_API_TOKEN": "",
    # OpenAI-compatible
    "OPENAI_BASE_URL": "",
    "OPENAI_API_KEY": "",
    "OPENAI_MODEL": "gpt-4o-mini",
    "OPENAI_MAX_TOOL_ROUNDS": 3,
    # builtin | stream | a dotted path to a Transport class; None: stream when Stream Chat is enabled
    # with both keys, otherwise builtin
    "TRANSPORT": None,
    # Stream Chat
    "STREAM_CHAT_ENABLED": False,
    "STREAM_CHAT_API_KEY": "",
    "STREAM_CHAT_API_SECRET": "",
    "STREAM_CHAT_BASE_URL": "",
    # Prefix of every Stream user and channel id, so several shops can share one Stream app.
    "STREAM_CHAT_ID_PREFIX": "shop",
    "ASSISTANT_IMAGE": "",
    # Visitor tokens are short-lived; the widget asks for a new one before this runs out.
    "STREAM_CHAT_TOKEN_TTL": 1800,
    "STREAM_CHAT_TIMEOUT": 6.0,
    # Seconds between partial updates of a streaming reply (Stream allows ~1000 updates/min per app).
    "STREAM_CHAT_UPDATE_INTERVAL": 0.5,
    # Stream's "Update Message" limit per minute for the whole app, shared by every reply (0: no budget).
    "STREAM_CHAT_UPDATE_LIMIT": 1000,
    # Upstream HTTP
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 60.0,
    # Once a stream has sent its first event, the longest wait for the next one (0: READ_TIMEOUT only).
    "STREAM_IDLE_TIMEOUT": 20.0,
    # Limits
    "MAX_MESSAGE_LENGTH": 2000,
    "MAX_MESSAGES_PER_CONVERSATION": 500,
    "HISTORY_TURNS": 10,
    "RATE_LIMITS": "visitor=20/m,ip=120/m",
    # Failed guest order look-ups allowed per email and per order number (any visitor, any address)
    # within ORDER_LOOKUP_WINDOW seconds; 0 turns the limit off.
    "ORDER_LOOKUP_LIMIT": 5,
    # Replies one visitor, and one address, may stream at once (429 beyond); 0 turns a cap off.
    "MAX_STREAMS_PER_VISITOR": 2,
    "MAX_STREAMS_PER_ADDRESS": 20,
    "ORDER_LOOKUP_WINDOW": 3600,
    # How often a streaming reply looks for a stop requested through another server.
    "STOP_POLL_INTERVAL": 0.25,
    # Seconds between the local assistant's chunks, so it reads like a model typing; 0 in tests.
    "LOCAL_STREAM_DELAY": 0.02,
    "LOCAL_LEXICON": "",
    # Widget
    "WIDGET": {
        "label": "",
        "show_label": False,
        "title": "",
        "greeting": "",
        "suggestions": [],
        "theme_color": "#2563eb",
        "position": "right",
        "color_scheme": "auto",
    },
    # Staff
    "STAFF_EMAILS": [],
    "BUSINESS_HOURS": None,
    # What the widget tells a visitor waiting for a person while staff are in: "We usually reply
    # within ..." (minutes).
    "STAFF_REPLY_MINUTES": 60,
    "RETENTION_DAYS": 365,
    # Absolute base URL for links in staff emails (e.g. "https://shop.example.com"); when empty the
    # current Site's domain is used if django.contrib.sites is installed.
    "SITE_URL": "",
}


class ChatbotSettings:
    """Attribute access to the merged settings; ``chatbot_settings.PROVIDER``."""

    def __getattr__(self, name: str) -> Any:
        merged = _merged()
        try:
            return merged[name]
        except KeyError:
            raise AttributeError(f"Unknown chatbot setting {name!r}") from None


@lru_cache(maxsize=1)
def _merged() -> dict[str, Any]:
    user = getattr(settings, "CHATBOT", None) or {}
    merged = {**DEFAULTS, **user}
    merged["WIDGET"] = {**DEFAULTS["WIDGET"], **(user.get("WIDGET") or {})}
    return merged


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHATBOT":
        _merged.cache_clear()


chatbot_settings = ChatbotSettings()


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Environment variable -> (CHATBOT key, converter). The names are the Node system's, kept on purpose.
ENV_NAMES: dict[str, tuple[str, Any]] = {
    "CHATBOT_ENABLED": ("ENABLED", _bool),
    "CHATBOT_PROVIDER": ("PROVIDER", str),
    "CHATBOT_SHOP_ADAPTER": ("SHOP_ADAPTER", str),
    "CHATBOT_SHOP_NAME": ("SHOP_NAME", str),
    "CHATBOT_NODE_URL": ("NODE_URL", str),
    "CHATBOT_SHOP_ID": ("SHOP_ID", str),
    "CHATBOT_SSO_SECRET": ("SSO_SECRET", str),
    "CHATBOT_NODE_BOT_ID": ("NODE_BOT_ID", str),
    "CHATBOT_WEBHOOK_SECRET": ("WEBHOOK_SECRET", str),
    "COZE_API_BASE": ("COZE_API_BASE", str),
    "COZE_BOT_ID": ("COZE_BOT_ID", str),
    "COZE_CLIENT_ID": ("COZE_CLIENT_ID", str),
    "COZE_PUBLIC_KEY_ID": ("COZE_PUBLIC_KEY_ID", str),
    "COZE_PRIVATE_KEY_FILE": ("COZE_PRIVATE_KEY_FILE", str),
    "COZE_API_TOKEN": ("COZE_API_TOKEN", str),
    "OPENAI_BASE_URL": ("OPENAI_BASE_URL", str),
    "OPENAI_API_KEY": ("OPENAI_API_KEY", str),
    "CHATBOT_OPENAI_MODEL": ("OPENAI_MODEL", str),
    "CHATBOT_TRANSPORT": ("TRANSPORT", str),
    "STREAM_CHAT_ENABLED": ("STREAM_CHAT_ENABLED", _bool),
    "STREAM_CHAT_API_KEY": ("STREAM_CHAT_API_KEY", str),
    "STREAM_CHAT_API_SECRET": ("STREAM_CHAT_API_SECRET", str),
    "STREAM_CHAT_BASE_URL": ("STREAM_CHAT_BASE_URL", str),
    "STREAM_CHAT_ID_PREFIX": ("STREAM_CHAT_ID_PREFIX", str),
    "CHATBOT_ASSISTANT_NAME": ("ASSISTANT_NAME", str),
    "CHATBOT_ASSISTANT_IMAGE": ("ASSISTANT_IMAGE", str),
    "CHATBOT_RATE_LIMITS": ("RATE_LIMITS", str),
    "CHATBOT_MAX_STREAMS_PER_VISITOR": ("MAX_STREAMS_PER_VISITOR", int),
    "CHATBOT_MAX_STREAMS_PER_ADDRESS": ("MAX_STREAMS_PER_ADDRESS", int),
    "CHATBOT_STAFF_EMAILS": ("STAFF_EMAILS", lambda v: [e.strip() for e in v.split(",") if e.strip()]),
    "CHATBOT_WEBHOOK_PATH": ("WEBHOOK_PATH", str),
    "CHATBOT_STREAM_IDLE_TIMEOUT": ("STREAM_IDLE_TIMEOUT", float),
    "CHATBOT_SITE_URL": ("SITE_URL", str),
    "CHATBOT_RETENTION_DAYS": ("RETENTION_DAYS", int),
    "CHATBOT_STAFF_REPLY_MINUTES": ("STAFF_REPLY_MINUTES", int),
    "CHATBOT_LOCAL_STREAM_DELAY": ("LOCAL_STREAM_DELAY", float),
    "CHATBOT_LOCAL_LEXICON": ("LOCAL_LEXICON", str),
}


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build a ``CHATBOT`` dict from the environment variables documented in the README."""
    source: Mapping[str, str] = os.environ if environ is None else environ
    result: dict[str, Any] = {}
    for name, (key, convert) in ENV_NAMES.items():
        value = source.get(name)
        if value not in (None, ""):
            result[key] = convert(value)
    return result
