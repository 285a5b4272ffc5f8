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

from django.utils.translation import gettext, ngettext

#: Currency symbols the base adapter writes before a price; other currencies get their code.
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
#: At or below this many units a product is "only N left".
LOW_STOCK = 3


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

    def availability(self) -> str:
        """The stock wording the assistant's text and the product cards share, in the active language."""
        if not self.in_stock:
            return gettext("out of stock")
        if self.stock is not None and self.stock <= LOW_STOCK:
            return ngettext("only %(count)d left", "only %(count)d left", self.stock) % {"count": self.stock}
        return gettext("in stock")


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
    #: Carrier and tracking number of each shipment, as the shop recorded them.
    tracking: list[str] = field(default_factory=list)
    #: Whether the shop's order workflow still allows cancelling it; None when the shop cannot tell.
    can_cancel: bool | None = None

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

    def product_for_path(self, path: str) -> ProductInfo | None:
        """The product whose page is at ``path`` (a storefront path, maybe with a query); None otherwise."""
        return None

    def catalogue(self) -> list[ProductInfo] | None:
        """Every product a visitor can browse, for the local assistant's in-memory index.

        None when the shop cannot list its catalogue; the assistant then ranks what
        :meth:`search_products` finds. Called again only when :meth:`catalogue_version` changes."""
        return None

    def catalogue_version(self) -> Any:
        """A cheap value that changes whenever products, prices or stock change (one query at most)."""
        return None

    def format_price(self, amount: Decimal, currency: str) -> str:
        """A price written the way the shop writes it on its own pages."""
        symbol = CURRENCY_SYMBOLS.get(currency.upper())
        return f"{symbol}{amount:,.2f}" if symbol else f"{currency} {amount:,.2f}".strip()

    def price_text(self, product: ProductInfo) -> str:
        return "" if product.price is None else self.format_price(product.price, product.currency)

    def card(self, product: ProductInfo) -> dict[str, Any]:
        """What the widget shows for a product: price as the shop writes it, the text's stock wording."""
        return {
            "id": product.id,
            "title": product.title,
            "url": product.url,
            "price": self.price_text(product),
            "in_stock": product.in_stock,
            "availability": product.availability(),
            "image": product.image_url,
        }

    def orders_for(self, user: Any, *, limit: int = 5) -> list[OrderInfo]:
        """The user's own most recent orders; nothing for anonymous users."""
        return []

    def order_lookup(self, number: str, email: str) -> OrderInfo | None:
        """The guest order with this number, only if it was placed with this email (case-insensitive).

        Orders placed from an account are not returned: their owner signs in to see them."""
        return None

    def policies(self) -> list[Policy]:
        return []

    def add_to_basket_url(self) -> str | None:
        """Where a product card's **Add to basket** posts, with ``{id}`` in place of the product's id.

        The widget posts a form there as the shop's own product page would: ``csrfmiddlewaretoken`` and
        ``quantity=1``, and follows the redirect. Called when a page renders the widget: no query.
        None (the default): cards offer **View** only."""
        return None

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
