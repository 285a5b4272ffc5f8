"""AI providers, chosen by ``CHATBOT["PROVIDER"]``: a short name or a dotted path."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.providers.base import Provider

BUILTIN_PROVIDERS = {
    "local": "chatbot.providers.local.LocalProvider",
    "chatbot_node": "chatbot.providers.chatbot_node.ChatbotNodeProvider",
    "coze": "chatbot.providers.coze.CozeProvider",
    "openai": "chatbot.providers.openai.OpenAIProvider",
}


def provider_class(name: str) -> type[Provider]:
    path = BUILTIN_PROVIDERS.get(name, name)
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ChatbotConfigurationError(f"Unknown chatbot provider {name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ChatbotConfigurationError(f"{path} is not a chatbot.providers.base.Provider subclass")
    return cls


@lru_cache(maxsize=1)
def get_provider() -> Provider:
    """The configured provider; one instance per process so token caches are shared."""
    return provider_class(chatbot_settings.PROVIDER)(chatbot_settings)


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHATBOT":
        if get_provider.cache_info().currsize:
            get_provider().close()
        get_provider.cache_clear()
