"""Guest order look-ups by number and email, with failed attempts counted per email and per number.

Order numbers are sequential, so a guest who knows one email (or one number) could walk through the
other half of the pair. The per-visitor and per-address limits do not stop that: a fresh session or
another address starts from zero. Failed look-ups are therefore counted in Django's cache (shared by
every server when it is Redis or Memcached) under the email and under the order number, whoever asks;
past ``ORDER_LOOKUP_LIMIT`` failures within ``ORDER_LOOKUP_WINDOW`` seconds for either, look-ups
with that email or that number are refused, the right pair included, until the window has passed.
"""

from __future__ import annotations

import hashlib
import math
from typing import Literal

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ShopError
from chatbot.shop.base import OrderInfo, ShopAdapter


class OrderLookupThrottled(ShopError):
    """Too many failed look-ups for this email (``kind == "email"``) or this number (``"order"``)."""

    code = "order_lookup_throttled"
    default_message = _("Too many order look-ups failed for those details. Please try again later.")
    status = 429

    def __init__(self, kind: Literal["email", "order"], retry_after: int) -> None:
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(f"order look-ups throttled by {kind}")

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        return ngettext(
            "For your security, order look-ups with those details are paused after several attempts that "
            "did not match. Please try again in %(minutes)d minute, or sign in to see your orders.",
            "For your security, order look-ups with those details are paused after several attempts that "
            "did not match. Please try again in %(minutes)d minutes, or sign in to see your orders.",
            minutes,
        ) % {"minutes": minutes}


def _key(kind: str, value: str) -> str:
    # Hashed: the cache must not hold customers' email addresses in clear.
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"chatbot:order-lookup:{kind}:{digest}"


def _normalised(number: str, email: str) -> tuple[str, str]:
    return number.strip().lstrip("#").strip(), email.strip()


def lookup_guest_order(shop: ShopAdapter, number: str, email: str) -> OrderInfo | None:
    """The guest order ``number`` placed with ``email``, or None when they do not match.

    Raises :class:`OrderLookupThrottled` (a ``ShopError``; its ``message`` is for the visitor) when
    either has failed too often, before the shop is asked."""
    limit = int(chatbot_settings.ORDER_LOOKUP_LIMIT)
    window = int(chatbot_settings.ORDER_LOOKUP_WINDOW)
    number, email = _normalised(number, email)
    keys: dict[Literal["email", "order"], str] = {
        "email": _key("email", email.casefold()),
        "order": _key("order", number.casefold()),
    }
    if limit > 0:
        counts = cache.get_many(list(keys.values()))
        for kind, key in keys.items():
            if int(counts.get(key) or 0) >= limit:
                raise OrderLookupThrottled(kind, window)
    order = shop.order_lookup(number, email)
    if order is None and limit > 0:
        for key in keys.values():
            # The window runs from the first failure; add() keeps an existing count and its expiry.
            cache.add(key, 0, window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, window)
    return order
