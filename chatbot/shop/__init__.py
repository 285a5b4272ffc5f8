"""Storefront adapters, chosen by ``CHATBOT["SHOP_ADAPTER"]``: ``oscar``, ``none`` or a dotted path."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.shop.base import ShopAdapter

BUILTIN_ADAPTERS = {
    "oscar": "chatbot.shop.oscar.OscarShop",
    "none": "chatbot.shop.base.ShopAdapter",
}


def adapter_path() -> str:
    name = chatbot_settings.SHOP_ADAPTER
    if not name:
        name = "oscar" if apps.is_installed("oscar") else "none"
    return BUILTIN_ADAPTERS.get(name, name)


@lru_cache(maxsize=1)
def get_shop() -> ShopAdapter:
    path = adapter_path()
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ChatbotConfigurationError(f"Cannot load shop adapter {path!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, ShopAdapter)):
        raise ChatbotConfigurationError(f"{path} is not a chatbot.shop.base.ShopAdapter subclass")
    return cls()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHATBOT":
        get_shop.cache_clear()
