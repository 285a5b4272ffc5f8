"""The django-oscar adapter: catalogue, stock, orders and flatpage policies of an Oscar shop."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Count, Max, Sum
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.html import strip_tags
from oscar.core.loading import get_model

from chatbot.shop import search
from chatbot.shop.base import OrderInfo, OrderLine, Policy, ProductInfo, ShopAdapter, SyncRecord

_TOPICS = [
    ("shipping", re.compile(r"ship|deliver|postage|配送|运费", re.I)),
    ("returns", re.compile(r"return|refund|exchange|退", re.I)),
    ("payment", re.compile(r"pay|billing|支付|付款", re.I)),
    ("privacy", re.compile(r"privacy|cookie|隐私", re.I)),
]


_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|div|tr|section)>|<br\s*/?>", re.I)


# A product id that no URL pattern can confuse with the rest of the path.
_PLACEHOLDER_PK = 2147483647


def _paragraphs(html: str) -> str:
    """A page's text with one blank line between paragraphs and headings, so answers can quote one."""
    text = unescape(strip_tags(_BLOCK_END.sub("\n\n", html)))
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


class OscarShop(ShopAdapter):
    """Reads an Oscar shop through its (possibly forked) models."""

    name = "oscar"

    def _products(self):
        Product = get_model("catalogue", "Product")
        return (
            Product.objects.browsable()
            .select_related("product_class")
            .prefetch_related("stockrecords", "categories", "children__stockrecords")
        )

    def search_products(self, query: str, *, limit: int = 5) -> list[ProductInfo]:
        found = search.search(self._products(), query, title="title", body="description", limit=limit)
        return [self._info(product) for product in found]

    def product(self, product_id: str) -> ProductInfo | None:
        if not str(product_id).isdigit():
            return None
        product = self._products().filter(pk=int(product_id)).first()
        return self._info(product) if product else None

    def product_for_path(self, path: str) -> ProductInfo | None:
        path = urlsplit(str(path or "")).path
        if not path.startswith("/") or path.startswith("//"):
            return None
        try:
            match = resolve(path)
        except (Resolver404, ValueError):
            return None
        if match.view_name != "catalogue:detail":
            return None
        return self.product(str(match.kwargs.get("pk", "")))

    def catalogue_version(self) -> Any:
        # Prices and stock change without touching the product rows (allocations update counts only),
        # so their sums are part of the version.
        Product = get_model("catalogue", "Product")
        StockRecord = get_model("partner", "StockRecord")
        products = Product.objects.aggregate(n=Count("id"), last=Max("date_updated"), top=Max("id"))
        stock = StockRecord.objects.aggregate(
            n=Count("id"),
            stock=Sum("num_in_stock"),
            allocated=Sum("num_allocated"),
            prices=Sum("price"),
            last=Max("date_updated"),
        )
        return (tuple(products.values()), tuple(stock.values()))

    def catalogue(self) -> list[ProductInfo]:
        """The browsable catalogue in five queries, without building a model instance per product."""
        Product = get_model("catalogue", "Product")
        StockRecord = get_model("partner", "StockRecord")
        ProductCategory = get_model("catalogue", "ProductCategory")
        ProductImage = get_model("catalogue", "ProductImage")
        rows = list(Product.objects.browsable().values_list("id", "title", "description", "slug"))
        parent_of = dict(Product.objects.filter(parent__isnull=False).values_list("id", "parent_id"))
        records: dict[int, list[tuple]] = defaultdict(list)
        for product_id, price, currency, num, allocated in StockRecord.objects.values_list(
            "product_id", "price", "price_currency", "num_in_stock", "num_allocated"
        ):
            records[parent_of.get(product_id, product_id)].append((price, currency, num, allocated))
        categories: dict[int, str] = {}
        for product_id, name in ProductCategory.objects.order_by("pk").values_list("product_id", "category__name"):
            categories.setdefault(product_id, name)
        images: dict[int, str] = {}
        for product_id, original in ProductImage.objects.order_by("display_order", "pk").values_list(
            "product_id", "original"
        ):
            images.setdefault(product_id, original)
        url_pattern = reverse("catalogue:detail", kwargs={"product_slug": "__slug__", "pk": 987654321})
        catalogue = []
        for pk, title, description, slug in rows:
            offers = records.get(pk, [])
            priced = [offer for offer in offers if offer[0] is not None]
            cheapest = min(priced, key=lambda offer: offer[0]) if priced else None
            tracked = [offer for offer in offers if offer[2] is not None]
            stock = sum(max(num - (allocated or 0), 0) for _, _, num, allocated in tracked) if tracked else None
            image = images.get(pk)
            catalogue.append(
                ProductInfo(
                    id=str(pk),
                    title=title,
                    url=url_pattern.replace("__slug__", slug).replace("987654321", str(pk)),
                    price=cheapest[0] if cheapest else None,
                    currency=cheapest[1] if cheapest else "",
                    in_stock=bool(offers) and (stock is None or stock > 0),
                    stock=stock,
                    description=strip_tags(description or "").strip(),
                    image_url=default_storage.url(image) if image else "",
                    category=categories.get(pk, ""),
                )
            )
        return catalogue

    def format_price(self, amount: Decimal, currency: str) -> str:
        from oscar.templatetags.currency_filters import currency as oscar_currency

        return oscar_currency(amount, currency or None) or super().format_price(amount, currency)

    def _info(self, product: Any) -> ProductInfo:
        records = list(product.stockrecords.all())
        if not records and product.is_parent:
            records = [r for child in product.children.all() for r in child.stockrecords.all()]
        priced = [r for r in records if r.price is not None]
        record = min(priced, key=lambda r: r.price) if priced else None
        stock = None
        if records and any(r.num_in_stock is not None for r in records):
            stock = sum(max(r.net_stock_level, 0) for r in records if r.num_in_stock is not None)
        image = product.primary_image()
        image_url = ""
        if not isinstance(image, dict) and getattr(image, "original", None):
            try:
                image_url = image.original.url
            except ValueError:
                image_url = ""
        category = product.categories.all()[:1]
        return ProductInfo(
            id=str(product.pk),
            title=product.get_title(),
            url=product.get_absolute_url(),
            price=record.price if record else None,
            currency=record.price_currency if record else "",
            in_stock=bool(records) and (stock is None or stock > 0),
            stock=stock,
            description=strip_tags(product.description or "").strip(),
            image_url=image_url,
            category=category[0].name if category else "",
        )

    def orders_for(self, user: Any, *, limit: int = 5) -> list[OrderInfo]:
        if user is None or not user.is_authenticated:
            return []
        Order = get_model("order", "Order")
        orders = (
            Order.objects.filter(user=user)
            .prefetch_related("lines", "shipping_events")
            .order_by("-date_placed")[:limit]
        )
        return [self._order(order, owner_view=True) for order in orders]

    def order_lookup(self, number: str, email: str) -> OrderInfo | None:
        number, email = (number or "").strip(), (email or "").strip()
        if not number or not email:
            return None
        Order = get_model("order", "Order")
        # Only guest orders: an order placed from an account is shown to that account, signed in.
        order = (
            Order.objects.filter(number=number, user__isnull=True).prefetch_related("lines", "shipping_events").first()
        )
        if order is None or (order.guest_email or "").strip().casefold() != email.casefold():
            return None
        return self._order(order, owner_view=False)

    def _order(self, order: Any, *, owner_view: bool) -> OrderInfo:
        url = ""
        if owner_view:
            try:
                url = reverse("customer:order", kwargs={"order_number": order.number})
            except NoReverseMatch:
                url = ""
        return OrderInfo(
            number=order.number,
            status=order.status or "",
            placed=order.date_placed,
            total=Decimal(order.total_incl_tax) if order.total_incl_tax is not None else None,
            currency=order.currency,
            lines=[OrderLine(title=line.title, quantity=line.quantity) for line in order.lines.all()],
            url=url,
            shipping_method=order.shipping_method or "",
            tracking=[event.notes.strip() for event in order.shipping_events.all() if (event.notes or "").strip()],
            # The shop's own pipeline (OSCAR_ORDER_STATUS_PIPELINE) says whether cancelling is a next step.
            can_cancel=any("cancel" in status.lower() for status in order.available_statuses()),
        )

    def policies(self) -> list[Policy]:
        FlatPage = get_model("flatpages", "FlatPage")
        pages = FlatPage.objects.filter(sites__id=getattr(settings, "SITE_ID", 1), registration_required=False)
        result = []
        for page in pages.order_by("url"):
            topic = next((name for name, pattern in _TOPICS if pattern.search(f"{page.url} {page.title}")), "other")
            result.append(Policy(topic=topic, title=page.title, text=_paragraphs(page.content), url=page.url))
        return result

    def add_to_basket_url(self) -> str | None:
        """Oscar's own add-to-basket form (``basket:add``), which takes ``quantity`` and the CSRF token."""
        try:
            url = reverse("basket:add", kwargs={"pk": _PLACEHOLDER_PK})
        except NoReverseMatch:
            return None
        return url.replace(str(_PLACEHOLDER_PK), "{id}")

    def shop_name(self) -> str:
        return getattr(settings, "OSCAR_SHOP_NAME", "")

    # -- Bulk reads for chatbot_sync and change webhooks -----------------------------------------------

    def _sync_queryset(self, kind: str) -> Any:
        if kind == "products":
            return self._products()
        if kind == "orders":
            orders = get_model("order", "Order").objects.select_related("user")
            return orders.prefetch_related("lines", "shipping_events")
        if kind == "customers":
            from django.contrib.auth import get_user_model

            # Staff accounts are not customers; their data has no business in the assistant's dataset.
            return get_user_model().objects.filter(is_staff=False, is_superuser=False)
        raise ValueError(f"Unknown sync kind {kind!r}")

    def _batches(
        self, kind: str, after_id: int, batch: int, to_record: Callable[[Any], dict[str, Any]]
    ) -> Iterator[list[SyncRecord]]:
        cursor = int(after_id or 0)
        while True:
            rows = list(self._sync_queryset(kind).filter(pk__gt=cursor).order_by("pk")[:batch])
            if not rows:
                return
            yield [SyncRecord(id=row.pk, data=to_record(row)) for row in rows]
            cursor = rows[-1].pk

    def iter_products(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return self._batches("products", after_id, batch, self.product_record)

    def iter_orders(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return self._batches("orders", after_id, batch, self.order_record)

    def iter_customers(self, after_id: int = 0, batch: int = 100) -> Iterator[list[SyncRecord]]:
        return self._batches("customers", after_id, batch, self.customer_record)

    def count_for_sync(self, kind: str, after_id: int = 0) -> int | None:
        return self._sync_queryset(kind).filter(pk__gt=int(after_id or 0)).count()

    def product_record(self, product: Any) -> dict[str, Any]:
        info = self._info(product)
        return {
            "id": info.id,
            "upc": product.upc or "",
            "title": info.title,
            "description": info.description,
            "url": info.url,
            "price": None if info.price is None else str(info.price),
            "currency": info.currency,
            "in_stock": info.in_stock,
            "stock": info.stock,
            "category": info.category,
            "image": info.image_url,
            "updated": product.date_updated.isoformat() if product.date_updated else None,
        }

    def order_record(self, order: Any) -> dict[str, Any]:
        data = self._order(order, owner_view=False).as_dict()
        data.update(
            {
                "id": str(order.pk),
                "email": order.email or "",
                "customer_id": str(order.user_id) if order.user_id else None,
            }
        )
        return data

    def customer_record(self, user: Any) -> dict[str, Any]:
        return {
            "id": str(user.pk),
            "email": user.email or "",
            "first_name": getattr(user, "first_name", ""),
            "last_name": getattr(user, "last_name", ""),
            "date_joined": user.date_joined.isoformat() if getattr(user, "date_joined", None) else None,
            "is_active": user.is_active,
        }
