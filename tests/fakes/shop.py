"""A small in-memory shop behind the public ShopAdapter interface, recording what it is asked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chatbot.shop.base import OrderInfo, OrderLine, Policy, ProductInfo, ShopAdapter

PRODUCTS = [
    ProductInfo(
        id="7",
        title="Trail Tent 2P",
        url="/catalogue/trail-tent_7/",
        price=Decimal("149.00"),
        currency="GBP",
        stock=4,
        description="A light two-person tent.",
        category="Outdoor",
    ),
    ProductInfo(
        id="9",
        title="Sencha Green Tea",
        url="/catalogue/sencha_9/",
        price=Decimal("8.50"),
        currency="GBP",
        stock=0,
        in_stock=False,
        description="Loose leaf.",
        category="Tea",
    ),
]

ORDERS = {
    "100001": ("alice@example.com", "Shipped"),
    "100002": ("bob@example.com", "Processing"),
}


def order(number: str) -> OrderInfo:
    _, status = ORDERS[number]
    return OrderInfo(
        number=number,
        status=status,
        placed=datetime(2026, 1, 5, tzinfo=UTC),
        total=Decimal("20.00"),
        currency="GBP",
        lines=[OrderLine(title="Sencha Green Tea", quantity=2)],
    )


class FakeShop(ShopAdapter):
    name = "fake"

    def __init__(self, owner_orders: dict[Any, list[str]] | None = None) -> None:
        #: user pk -> order numbers that user owns
        self.owner_orders = owner_orders or {}
        self.calls: list[tuple] = []

    def search_products(self, query: str, *, limit: int = 5) -> list[ProductInfo]:
        self.calls.append(("search_products", query))
        words = query.lower().split()
        return [p for p in PRODUCTS if any(w in p.title.lower() for w in words)][:limit]

    def product(self, product_id: str) -> ProductInfo | None:
        self.calls.append(("product", product_id))
        return next((p for p in PRODUCTS if p.id == product_id), None)

    def orders_for(self, user: Any, *, limit: int = 5) -> list[OrderInfo]:
        self.calls.append(("orders_for", user.pk))
        return [order(n) for n in self.owner_orders.get(user.pk, [])][:limit]

    def order_lookup(self, number: str, email: str) -> OrderInfo | None:
        self.calls.append(("order_lookup", number, email))
        found = ORDERS.get(number)
        if found and found[0].lower() == email.lower():
            return order(number)
        return None

    def policies(self) -> list[Policy]:
        return [Policy(topic="shipping", title="Shipping", text="UK delivery in 2-3 days.")]

    def shop_name(self) -> str:
        return "Maple & Pine"
