"""Synthetic products that grow the demo catalog to benchmark size (10,000 products and more).

Names and descriptions are built deterministically from word lists, so a search for "merino socks" or
"blue kettle" finds plausible matches among thousands of rows, and two runs produce the same catalog.
Rows are written with bulk_create: one product at a time through `save()` would take minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db import transaction
from oscar.core.utils import slugify

from shop_site.demo.catalog import CATEGORIES
from shop_site.demo.loader import (
    CURRENCY,
    LOW_STOCK_THRESHOLD,
    Product,
    ProductCategory,
    StockRecord,
)

SYNTHETIC_UPC_PREFIX = "BENCH-"
BATCH_SIZE = 1000

ADJECTIVES = (
    "Lightweight",
    "Classic",
    "Heavy-Duty",
    "Compact",
    "Insulated",
    "Recycled",
    "Handmade",
    "Everyday",
    "Premium",
    "Packable",
    "Vintage",
    "Organic",
    "Rugged",
    "Minimalist",
    "Deluxe",
    "Ultralight",
)
COLOURS = ("Black", "Navy", "Olive", "Sand", "Red", "Blue", "Grey", "Forest Green", "Mustard", "White")
MATERIALS = {
    "OUT": ("ripstop nylon", "recycled polyester", "aluminium", "canvas", "titanium"),
    "FTW": ("full-grain leather", "suede", "merino wool", "recycled mesh", "natural rubber"),
    "KIT": ("stainless steel", "cast iron", "bamboo", "ceramic", "enamelled steel"),
    "TEA": ("Yunnan leaves", "Darjeeling leaves", "porcelain", "stoneware", "Assam leaves"),
    "HOM": ("linen", "organic cotton", "oak", "lambswool", "rattan"),
    "ELE": ("recycled plastic", "braided nylon", "aluminium", "silicone", "vegan leather"),
    "CLO": ("merino wool", "organic cotton", "recycled polyester", "Gore-Tex", "fleece"),
}
NOUNS = {
    "OUT": ("Tent", "Bivvy Bag", "Camping Chair", "Lantern", "Dry Bag", "Hammock", "Water Filter", "Gaiters"),
    "FTW": ("Walking Boots", "Trail Shoes", "Sandals", "Slippers", "Socks", "Insoles", "Wellies", "Loafers"),
    "KIT": ("Kettle", "Frying Pan", "Mixing Bowl", "Knife Set", "Colander", "Teaspoons", "Mug", "Grater"),
    "TEA": ("Green Tea", "Oolong", "Black Tea", "Herbal Infusion", "Tea Caddy", "Gaiwan", "Tea Tray", "Matcha Whisk"),
    "HOM": ("Cushion Cover", "Blanket", "Vase", "Picture Frame", "Rug", "Storage Basket", "Lamp", "Mirror"),
    "ELE": (
        "Charging Cable",
        "Power Bank",
        "Headphones",
        "Phone Stand",
        "Wall Charger",
        "Keyboard",
        "Mouse",
        "Card Reader",
    ),
    "CLO": ("Jacket", "Hoodie", "Scarf", "Gloves", "Beanie", "Shirt", "Trousers", "Gilet"),
}


def synthetic_product(index: int) -> dict[str, Any]:
    """The fields of synthetic product number `index` (0-based); an index always gives the same product."""
    category = CATEGORIES[index % len(CATEGORIES)]
    # Different strides through each word list, so neighbouring indexes differ in every word.
    adjective = ADJECTIVES[(index * 7) % len(ADJECTIVES)]
    colour = COLOURS[(index * 3 + index // len(CATEGORIES)) % len(COLOURS)]
    materials = MATERIALS[category.code]
    material = materials[(index * 5 + index // len(CATEGORIES)) % len(materials)]
    nouns = NOUNS[category.code]
    noun = nouns[(index // len(CATEGORIES)) % len(nouns)]
    title = f"{adjective} {colour} {noun}"
    weight = 80 + (index * 37) % 1900
    return {
        "category_code": category.code,
        "upc": f"{SYNTHETIC_UPC_PREFIX}{index + 1:06d}",
        "title": title,
        "description": (
            f"{adjective} {noun.lower()} in {colour.lower()}, made from {material}. "
            f"Weighs {weight} g; see the size guide for dimensions."
        ),
        "price": Decimal(4 + (index * 13) % 240) + Decimal("0.99"),
        # Every eleventh product is sold out, and a few more are nearly gone.
        "stock": 0 if index % 11 == 0 else (index * 17) % 150 + 1,
    }


def _existing_synthetic_count() -> int:
    synthetic = Product.objects.filter(upc__startswith=SYNTHETIC_UPC_PREFIX)
    last = synthetic.order_by("-upc").values_list("upc", flat=True).first()
    return int(last.removeprefix(SYNTHETIC_UPC_PREFIX)) if last else 0


def _batches(start: int, stop: int) -> Iterator[range]:
    for first in range(start, stop, BATCH_SIZE):
        yield range(first, min(first + BATCH_SIZE, stop))


def grow_catalog(
    total: int,
    categories: dict[str, tuple[Any, Any]],
    partner: Any,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add synthetic products until the catalog holds `total` products; return how many were added."""
    missing = total - Product.objects.count()
    if missing <= 0:
        return 0
    start = _existing_synthetic_count()
    added = 0
    for indexes in _batches(start, start + missing):
        specs = [synthetic_product(i) for i in indexes]
        with transaction.atomic():
            products = Product.objects.bulk_create(
                Product(
                    upc=spec["upc"],
                    title=spec["title"],
                    slug=slugify(spec["title"]),
                    description=spec["description"],
                    product_class=categories[spec["category_code"]][1],
                    structure=Product.STANDALONE,
                    is_public=True,
                )
                for spec in specs
            )
            if any(product.pk is None for product in products):
                # Backends that cannot return ids from a bulk insert: read them back by UPC.
                ids = dict(Product.objects.filter(upc__in=[s["upc"] for s in specs]).values_list("upc", "pk"))
                for product in products:
                    product.pk = ids[product.upc]
            ProductCategory.objects.bulk_create(
                ProductCategory(product=product, category=categories[spec["category_code"]][0])
                for product, spec in zip(products, specs, strict=True)
            )
            StockRecord.objects.bulk_create(
                StockRecord(
                    product=product,
                    partner=partner,
                    partner_sku=spec["upc"],
                    price_currency=CURRENCY,
                    price=spec["price"],
                    num_in_stock=spec["stock"],
                    low_stock_threshold=LOW_STOCK_THRESHOLD,
                )
                for product, spec in zip(products, specs, strict=True)
            )
        added += len(specs)
        if progress:
            progress(added, missing)
    return added
