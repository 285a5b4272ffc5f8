"""AI providers, chosen by ``CHATBOT["PROVIDER"]``: a short name or a dotted path."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from chatbot.conf import chatbot_settings
from chatbot.loading import load_class
from chatbot.providers.base import Provider

BUILTIN_PROVIDERS = {
    "local": "chatbot.providers.local.LocalProvider",
    "chatbot_node": "chatbot.providers.chatbot_node.ChatbotNodeProvider",
    "coze": "chatbot.providers.coze.CozeProvider",
    "openai": "chatbot.providers.openai.OpenAIProvider",
}


def provider_class(name: str) -> type[Provider]:
    return load_class(BUILTIN_PROVIDERS.get(name, name), Provider, "chatbot provider")


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
