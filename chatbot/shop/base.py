"""The storefront adapter: what the assistant may read from the shop.

Order data is only ever returned for the visitor who owns it: :meth:`ShopAdapter.orders_for` takes
the session's user, and :meth:`ShopAdapter.order_lookup` needs the order number *and* the email it
was placed with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ProductInfo:
    id: str
    title: str
    url: str
    price: Decimal | None = None
    currency: str = ""
    in_stock: bool = True
    #: Units available, when the shop tracks stock.
    stock: int | None = None
    description: str = ""
    image_url: str = ""
    category: str = ""

    def price_text(self) -> str:
        if self.price is None:
            return ""
        return f"{self.currency} {self.price:.2f}".strip()

    def as_card(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "price": self.price_text(),
            "in_stock": self.in_stock,
            "image": self.image_url,
        }


@dataclass(frozen=True)
class OrderLine:
    title: str
    quantity: int


@dataclass(frozen=True)
class OrderInfo:
    number: str
    status: str
    placed: datetime | None
    total: Decimal | None = None
    currency: str = ""
    lines: list[OrderLine] = field(default_factory=list)
    url: str = ""
    shipping_method: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"] = None if self.total is None else str(self.total)
        data["placed"] = self.placed.isoformat() if self.placed else None
        return data


@dataclass(frozen=True)
class Policy:
    #: shipping | returns | payment | privacy | other
    topic: str
    title: str
    text: str
    url: str = ""


#: What ``chatbot_sync`` can send to chatbot-node.
SYNC_KINDS = ("products", "orders", "customers")


@dataclass(frozen=True)
class SyncRecord:
    """One record sent to chatbot-node; ``id`` orders the records and is the resume cursor."""

    id: int
    data: dict[str, Any]


class ShopAdapter:
    """Base adapter: a shop with no catalogue. Subclass and override what your shop has."""

    name = "none"

    def search_products(self, query: str, *, limit: int = 5) -> list[ProductInfo]:
        return []

    def product(self, product_id: str) -> ProductInfo | None:
        return None

    def orders_for(self, user: Any, *, limit: int = 5) -> list[OrderInfo]:
        """The user's own most recent orders; nothing for anonymous users."""
        return []

    def order_lookup(self, number: str, email: str) -> OrderInfo | None:
        """The guest order with this number, only if it was placed with this email (case-insensitive).

        Orders placed from an account are not returned: their owner signs in to see them."""
        return None

    def policies(self) -> list[Policy]:
        return []

    def shop_name(self) -> str:
        return ""

    # -- Bulk reads for chatbot_sync and change webhooks (chatbot.sync) --------------------------------
    # ``iter_<kind>(after_id, batch)`` yields lists of at most ``batch`` records with ids greater than
    # ``after_id``, ascending, so a run that stopped can resume after the last id that was accepted.

    def iter_products(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return iter(())

    def iter_orders(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return iter(())

    def iter_customers(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return iter(())

    def count_for_sync(self, kind: str, after_id: int = 0) -> int | None:
        """How many records ``iter_<kind>`` will yield after ``after_id``; None when unknown."""
        return None

    def product_record(self, product: Any) -> dict[str, Any]:
        """The data a ``product.*`` webhook carries for one product of the shop's own model."""
        return {"id": str(getattr(product, "pk", ""))}

    def order_record(self, order: Any) -> dict[str, Any]:
        return {"id": str(getattr(order, "pk", ""))}

    def customer_record(self, user: Any) -> dict[str, Any]:
        return {"id": str(getattr(user, "pk", ""))}
