"""Oscar model signals -> change webhooks. Connected only when the Oscar adapter (or a subclass) is in use."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import import_string

from chatbot.shop import adapter_path, get_shop
from chatbot.sync import webhooks

logger = logging.getLogger(__name__)


def _record(event: str, make_data: Any) -> None:
    try:
        data = make_data()
        if data is not None:
            webhooks.record_event(event, data)
    except Exception:
        # A webhook must never break saving a product or an order in the shop.
        logger.exception("Could not record the %s webhook", event)


def _push(event: str, make_data: Any) -> None:
    """Record the event once the change is committed, with the data as it is then: an order's lines
    are saved after the order itself, in the same transaction."""
    if webhooks.enabled():
        transaction.on_commit(lambda: _record(event, make_data))


def product_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    # A variant's change is a change of the product visitors see.
    product = instance.parent if getattr(instance, "parent_id", None) else instance
    event = "product.created" if created and product is instance else "product.updated"
    # None when the product was deleted before the commit: its product.deleted event says it all.
    _push(event, lambda: get_shop().product_record(product) if product.pk else None)


def product_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Captured now: after the delete the instance no longer has its primary key.
    data = {"id": str(instance.pk), "upc": getattr(instance, "upc", "") or ""}
    _push("product.deleted", lambda: data)


def stockrecord_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    # Price and stock live on stock records, so their changes update the product.
    if raw:
        return
    product = instance.product
    product = product.parent if product.parent_id else product
    _push("product.updated", lambda: get_shop().product_record(product) if product.pk else None)


def order_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    _push("order.created" if created else "order.updated", lambda: get_shop().order_record(instance))


def customer_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw or not created or instance.is_staff or instance.is_superuser:
        return
    _push("customer.created", lambda: get_shop().customer_record(instance))


def connect() -> bool:
    """Hook the shop's models; False (nothing connected) unless the Oscar adapter is configured."""
    if not apps.is_installed("oscar"):
        return False
    from oscar.core.loading import get_model

    from chatbot.shop.oscar import OscarShop

    try:
        adapter = import_string(adapter_path())
    except ImportError:
        return False  # reported by the system checks
    if not (isinstance(adapter, type) and issubclass(adapter, OscarShop)):
        return False

    Product = get_model("catalogue", "Product")
    StockRecord = get_model("partner", "StockRecord")
    Order = get_model("order", "Order")
    post_save.connect(product_saved, sender=Product, dispatch_uid="chatbot.sync.product_saved")
    post_delete.connect(product_deleted, sender=Product, dispatch_uid="chatbot.sync.product_deleted")
    post_save.connect(stockrecord_saved, sender=StockRecord, dispatch_uid="chatbot.sync.stockrecord_saved")
    post_save.connect(order_saved, sender=Order, dispatch_uid="chatbot.sync.order_saved")
    post_save.connect(customer_saved, sender=get_user_model(), dispatch_uid="chatbot.sync.customer_saved")
    return True
