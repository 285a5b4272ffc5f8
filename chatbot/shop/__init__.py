"""Storefront adapters, chosen by ``CHATBOT["SHOP_ADAPTER"]``: ``oscar``, ``none`` or a dotted path."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import receiver

from chatbot.conf import chatbot_settings
from chatbot.loading import load_class
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
    return load_class(adapter_path(), ShopAdapter, "shop adapter")()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHATBOT":
        get_shop.cache_clear()
