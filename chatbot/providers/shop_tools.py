"""Shop tools a language model may call: product search, one product, order status.

Order data follows the same ownership rule as everywhere else in the app: a logged-in visitor sees
only ``shop.orders_for(their user)``; a guest sees an order only through
``shop.order_lookup(number, email)`` with both given. The model never chooses whose orders to read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chatbot.exceptions import ShopError
from chatbot.order_lookups import lookup_guest_order
from chatbot.providers.base import ChatRequest
from chatbot.shop.base import OrderInfo, ProductInfo, ShopAdapter

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 5
DESCRIPTION_CHARS = 400

TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_products",
            "description": "Search this shop's catalogue. Returns products with price, stock and link.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "Words to search for."}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_product",
            "description": "Details of one product by the id a search returned.",
            "parameters": {
                "type": "object",
                "properties": {"product_id": {"type": "string"}},
                "required": ["product_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": (
                "Status of the customer's orders. Logged-in customers: no arguments needed, or an order "
                "number. Guests must give both the order number and the email used for the order."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "order_number": {"type": "string"},
                    "email": {"type": "string", "description": "Only needed for guests."},
                },
            },
        },
    },
]


def _product(info: ProductInfo, shop: ShopAdapter) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "price": shop.price_text(info),
        "availability": info.availability(),
        "in_stock": info.in_stock,
        "stock": info.stock,
        "category": info.category,
        "url": info.url,
        "description": info.description[:DESCRIPTION_CHARS],
    }


def _order(info: OrderInfo) -> dict[str, Any]:
    data = info.as_dict()
    data["lines"] = [{"title": line.title, "quantity": line.quantity} for line in info.lines]
    return data


class ShopTools:
    """Runs tool calls for one reply and remembers the products they found (for cards)."""

    def __init__(self, request: ChatRequest):
        self.request = request
        self.products: dict[str, ProductInfo] = {}

    def call(self, name: str, arguments: str) -> str:
        """Run one tool; the result (or a readable error) as JSON text for the model."""
        try:
            args = json.loads(arguments or "{}")
        except ValueError:
            return json.dumps({"error": "arguments are not valid JSON"})
        if not isinstance(args, dict):
            return json.dumps({"error": "arguments must be an object"})
        handlers: dict[str, Callable[..., Any]] = {
            "search_products": self.search_products,
            "get_product": self.get_product,
            "order_status": self.order_status,
        }
        handler = handlers.get(name)
        if handler is None:
            return json.dumps({"error": f"unknown tool {name!r}"})
        try:
            result = handler(**{k: str(v) for k, v in args.items() if isinstance(v, str | int | float)})
        except TypeError:
            return json.dumps({"error": f"wrong arguments for {name}"})
        except ShopError as exc:
            return json.dumps({"error": exc.message})
        except Exception as exc:
            # A broken adapter must not end the reply; the model can say it could not check.
            logger.exception("Shop tool %s failed: %s", name, type(exc).__name__)
            return json.dumps({"error": "the shop could not be read just now"})
        return json.dumps(result, ensure_ascii=False, default=str)

    def search_products(self, query: str = "") -> dict[str, Any]:
        found = self.request.shop.search_products(query, limit=SEARCH_LIMIT) if query.strip() else []
        for info in found:
            self.products.setdefault(info.id, info)
        return {"products": [_product(p, self.request.shop) for p in found]}

    def get_product(self, product_id: str = "") -> dict[str, Any]:
        info = self.request.shop.product(product_id) if product_id else None
        if info is None:
            return {"error": "no product with that id"}
        self.products.setdefault(info.id, info)
        return {"product": _product(info, self.request.shop)}

    def order_status(self, order_number: str = "", email: str = "") -> dict[str, Any]:
        shop, visitor = self.request.shop, self.request.visitor
        number = order_number.strip().lstrip("#")
        if visitor.user is not None:
            orders = shop.orders_for(visitor.user)
            if number:
                orders = [o for o in orders if o.number == number]
                if not orders:
                    return {"error": "this customer has no order with that number"}
            return {"orders": [_order(o) for o in orders]}
        if not (number and email.strip()):
            return {"error": "ask the customer for the order number and the email used for the order"}
        # Throttled per email and per number; a refusal is a ShopError, told to the model by call().
        order = lookup_guest_order(shop, number, email.strip())
        if order is None:
            return {"error": "no order matches that number and email"}
        return {"orders": [_order(order)]}

    def cards(self) -> list[dict[str, Any]]:
        return [self.request.shop.card(info) for info in list(self.products.values())[:SEARCH_LIMIT]]
