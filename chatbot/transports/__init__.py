"""Transports, chosen by ``CHATBOT["TRANSPORT"]``: a short name or a dotted path.

Unset, the transport follows the Stream settings: ``stream`` when ``STREAM_CHAT_ENABLED`` is on and
both keys are set, otherwise ``builtin``. This is the one place that answers "is Stream on?".
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.core.checks import Error
from django.core.signals import setting_changed
from django.dispatch import receiver

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.loading import load_class
from chatbot.transports.base import Transport

logger = logging.getLogger(__name__)

BUILTIN_TRANSPORTS = {
    "builtin": "chatbot.transports.builtin.BuiltinTransport",
    "stream": "chatbot.transports.stream.StreamTransport",
}


def transport_name(conf: Any = chatbot_settings) -> str:
    if conf.TRANSPORT:
        return str(conf.TRANSPORT)
    stream_on = conf.STREAM_CHAT_ENABLED and conf.STREAM_CHAT_API_KEY and conf.STREAM_CHAT_API_SECRET
    return "stream" if stream_on else "builtin"


def transport_class(name: str) -> type[Transport]:
    return load_class(BUILTIN_TRANSPORTS.get(name, name), Transport, "transport")


@lru_cache(maxsize=1)
def get_transport() -> Transport:
    """The configured transport; one instance per process.

    One that cannot be loaded is the system check error chatbot.E008 (and ``not_configured`` in
    ``GET health``); meanwhile the shop's pages and chat keep working on the builtin transport."""
    try:
        cls = transport_class(transport_name())
    except ChatbotConfigurationError as exc:
        logger.error("%s; the chat uses the builtin transport.", exc)
        cls = transport_class("builtin")
    return cls()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHATBOT":
        get_transport.cache_clear()


def system_checks(conf: Any) -> list:
    """The transport setting and what the chosen transport needs; Stream's keys are checked whenever
    Stream is switched on, since a key missing quietly means the builtin transport."""
    from chatbot.transports.stream import StreamTransport

    try:
        cls = transport_class(transport_name(conf))
    except ChatbotConfigurationError as exc:
        return [
            Error(
                f"CHATBOT['TRANSPORT'] {conf.TRANSPORT!r} cannot be used: {exc}",
                hint="Use builtin, stream or the dotted path of a chatbot.transports.base.Transport subclass.",
                id="chatbot.E008",
            )
        ]
    errors = cls.system_checks(conf)
    if conf.STREAM_CHAT_ENABLED and not issubclass(cls, StreamTransport):
        errors.extend(StreamTransport.system_checks(conf))
    return errors
