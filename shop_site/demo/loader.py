"""Turns the demo records into Oscar rows.

Every function here is idempotent: rows are found by a natural key (UPC, URL, email, order number) and
only written when something differs, so running the loader again changes nothing and duplicates nothing.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.flatpages.models import FlatPage
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone
from oscar.apps.customer.forms import generate_username
from oscar.core.loading import get_model
from oscar.core.utils import slugify

from shop_site.demo.catalog import CATEGORIES, PRODUCTS
from shop_site.demo.orders import ACCOUNTS, ORDERS, DemoOrder
from shop_site.demo.policies import POLICIES

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductClass = get_model("catalogue", "ProductClass")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Country = get_model("address", "Country")
Order = get_model("order", "Order")
Line = get_model("order", "Line")
ShippingAddress = get_model("order", "ShippingAddress")
ShippingEvent = get_model("order", "ShippingEvent")
ShippingEventType = get_model("order", "ShippingEventType")
ShippingEventQuantity = get_model("order", "ShippingEventQuantity")
Source = get_model("payment", "Source")
SourceType = get_model("payment", "SourceType")

PARTNER_NAME = "Maple & Pine Warehouse"
CURRENCY = "GBP"
LOW_STOCK_THRESHOLD = 5

STANDARD_SHIPPING = Decimal("3.95")
EXPRESS_SHIPPING = Decimal("7.95")
FREE_SHIPPING_OVER = Decimal("50.00")

# (ISO code, printable name, display order): the countries the shipping policy promises to deliver to.
SHIPPING_COUNTRIES = (
    ("GB", "United Kingdom", 10),
    ("IE", "Ireland", 0),
    ("FR", "France", 0),
    ("DE", "Germany", 0),
    ("NL", "Netherlands", 0),
    ("US", "United States", 0),
    ("CA", "Canada", 0),
    ("AU", "Australia", 0),
    ("CN", "China", 0),
    ("HK", "Hong Kong", 0),
)


def sync_row(model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, bool]:
    """Get the row matching `lookup`, creating it with `values`, or update only the fields that differ.

    Unlike `update_or_create`, an unchanged row is not saved again, so a second run leaves `auto_now`
    timestamps (and anything listening to post_save) alone.
    """
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values), True
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
    return obj, False


def load_site(domain: str) -> Site:
    # By primary key rather than Site.objects.get_current(), whose cache can outlive the row (a test
    # database flush, for one) and would make this skip a needed write.
    site, _ = sync_row(Site, {"pk": settings.SITE_ID}, {"domain": domain, "name": settings.OSCAR_SHOP_NAME})
    Site.objects.clear_cache()
    return site


def load_countries() -> int:
    created = 0
    for code, name, display_order in SHIPPING_COUNTRIES:
        _, is_new = sync_row(
            Country,
            {"iso_3166_1_a2": code},
            {"printable_name": name, "name": name, "display_order": display_order, "is_shipping_country": True},
        )
        created += is_new
    return created


def demo_partner() -> Any:
    partner, _ = Partner.objects.get_or_create(name=PARTNER_NAME)
    return partner


def load_categories() -> dict[str, tuple[Any, Any]]:
    """Return {category code: (Category, ProductClass)}."""
    by_code = {}
    for demo in CATEGORIES:
        product_class, _ = sync_row(
            ProductClass, {"name": demo.product_class}, {"requires_shipping": True, "track_stock": True}
        )
        category = Category.objects.filter(depth=1, slug=demo.slug).first()
        if category is None:
            category = _add_root_category(name=demo.name, slug=demo.slug, description=demo.description)
        elif (category.name, category.description) != (demo.name, demo.description):
            category.name, category.description = demo.name, demo.description
            category.save()
        by_code[demo.code] = (category, product_class)
    return by_code


def _add_root_category(**fields: Any) -> Any:
    # django-treebeard 7 moved add_root() to the manager; Oscar 4 also allows older treebeard releases.
    if hasattr(Category.objects, "add_root"):
        return Category.objects.add_root(instance=Category(**fields))
    return Category.add_root(**fields)


def load_products(categories: dict[str, tuple[Any, Any]], partner: Any) -> int:
    created = 0
    for demo in PRODUCTS:
        category, product_class = categories[demo.category_code]
        product, is_new = sync_row(
            Product,
            {"upc": demo.upc},
            {
                "title": demo.title,
                "slug": demo.slug or slugify(demo.title),
                "description": demo.description,
                "product_class": product_class,
                "structure": Product.STANDALONE,
                "is_public": True,
            },
        )
        created += is_new
        ProductCategory.objects.get_or_create(product=product, category=category)
        sync_row(
            StockRecord,
            {"product": product, "partner": partner},
            {
                "partner_sku": demo.upc,
                "price_currency": CURRENCY,
                "price": Decimal(demo.price),
                "num_in_stock": demo.stock,
                "low_stock_threshold": LOW_STOCK_THRESHOLD,
            },
        )
    return created


def load_policies(site: Site) -> int:
    created = 0
    for policy in POLICIES:
        page, is_new = sync_row(
            FlatPage,
            {"url": policy.url},
            {"title": policy.title, "content": policy.content.strip(), "registration_required": False},
        )
        if not page.sites.filter(pk=site.pk).exists():
            page.sites.add(site)
        created += is_new
    return created


def load_accounts() -> int:
    user_model = get_user_model()
    created = 0
    for account in ACCOUNTS:
        if account.username:
            user = user_model.objects.filter(username=account.username).first()
        else:
            # Oscar signs customers in by email, so the email is the natural key.
            user = user_model.objects.filter(email__iexact=account.email).first()
        if user is None:
            user = user_model(
                username=account.username or generate_username(),
                email=account.email,
                first_name=account.first_name,
                last_name=account.last_name,
                is_staff=account.is_superuser,
                is_superuser=account.is_superuser,
            )
            # Only set on creation: re-hashing on every run would change the row each time.
            user.set_password(account.password)
            user.save()
            created += 1
    return created


def load_orders(site: Site, partner: Any) -> int:
    user_model = get_user_model()
    created = 0
    for demo in ORDERS:
        user = None if demo.guest else user_model.objects.get(email__iexact=demo.email)
        order = Order.objects.filter(number=demo.number).first()
        if order is None:
            _create_order(demo, user, site, partner)
            created += 1
        elif (order.status, order.user_id) != (demo.status, user.pk if user else None):
            # Restores the documented state if someone moved a demo order along in the dashboard.
            order.status, order.user = demo.status, user
            order.save()
            order.lines.update(status=demo.status)
    return created


def _create_order(demo: DemoOrder, user: Any, site: Site, partner: Any) -> Any:
    lines = []
    subtotal = Decimal("0.00")
    for upc, quantity in demo.lines:
        product = Product.objects.get(upc=upc)
        stockrecord = StockRecord.objects.get(product=product, partner=partner)
        lines.append((product, stockrecord, quantity))
        subtotal += stockrecord.price * quantity

    if demo.express:
        method, code, shipping = "Express delivery", "express", EXPRESS_SHIPPING
    else:
        method, code = "Standard delivery", "standard"
        shipping = Decimal("0.00") if subtotal >= FREE_SHIPPING_OVER else STANDARD_SHIPPING
    total = subtotal + shipping

    address = ShippingAddress.objects.create(
        first_name=demo.address.first_name,
        last_name=demo.address.last_name,
        line1=demo.address.line1,
        line4=demo.address.city,
        postcode=demo.address.postcode,
        country=Country.objects.get(iso_3166_1_a2="GB"),
        phone_number=demo.address.phone_number,
    )
    placed = timezone.localtime().replace(hour=10, minute=30, second=0, microsecond=0)
    order = Order.objects.create(
        number=demo.number,
        site=site,
        user=user,
        guest_email=demo.email if demo.guest else "",
        currency=CURRENCY,
        total_incl_tax=total,
        total_excl_tax=total,
        shipping_incl_tax=shipping,
        shipping_excl_tax=shipping,
        shipping_method=method,
        shipping_code=code,
        shipping_address=address,
        status=demo.status,
        date_placed=placed - datetime.timedelta(days=demo.days_ago),
    )
    cancelled = demo.status == "Cancelled"
    order_lines = [
        Line.objects.create(
            order=order,
            partner=partner,
            partner_name=partner.name,
            partner_sku=stockrecord.partner_sku,
            stockrecord=stockrecord,
            product=product,
            title=product.title,
            upc=product.upc,
            quantity=quantity,
            unit_price_incl_tax=stockrecord.price,
            unit_price_excl_tax=stockrecord.price,
            line_price_incl_tax=stockrecord.price * quantity,
            line_price_excl_tax=stockrecord.price * quantity,
            line_price_before_discounts_incl_tax=stockrecord.price * quantity,
            line_price_before_discounts_excl_tax=stockrecord.price * quantity,
            status=demo.status,
            num_allocated=0 if cancelled else quantity,
        )
        for product, stockrecord, quantity in lines
    ]

    source_type, _ = SourceType.objects.get_or_create(name="PayPal" if demo.payment == "PayPal" else "Card")
    Source.objects.create(
        order=order,
        source_type=source_type,
        currency=CURRENCY,
        amount_allocated=total,
        amount_debited=Decimal("0.00") if cancelled else total,
        amount_refunded=total if cancelled else Decimal("0.00"),
        label=demo.payment,
    )

    if demo.tracking:
        event_type, _ = ShippingEventType.objects.get_or_create(name="Shipped")
        event = ShippingEvent.objects.create(order=order, event_type=event_type, notes=demo.tracking)
        for line in order_lines:
            ShippingEventQuantity.objects.create(event=event, line=line, quantity=line.quantity)
    return order
