"""`manage.py load_demo_shop`: fill the demo storefront with its catalog, policies, accounts and orders."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from shop_site.demo import loader
from shop_site.demo.orders import ACCOUNTS, GUEST_EMAIL, ORDERS
from shop_site.demo.synthetic import grow_catalog


class Command(BaseCommand):
    help = (
        "Load the demo shop: catalog, policy pages, demo accounts and orders. Safe to run again: "
        "existing rows are kept and nothing is duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products",
            type=int,
            default=0,
            metavar="N",
            help="Add synthetic products until the catalog holds N products (e.g. 10000 for benchmarks).",
        )
        parser.add_argument(
            "--domain",
            default="localhost:8000",
            help="Domain of the current Site, used in links in emails (default: %(default)s).",
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing but errors.")

    def handle(self, *args: Any, products: int, domain: str, quiet: bool, **options: Any) -> None:
        if products < 0:
            raise CommandError("--products must be zero or more.")
        self.quiet = quiet
        started = time.monotonic()

        with _quiet_stock_alerts(), transaction.atomic():
            site = loader.load_site(domain)
            loader.load_countries()
            partner = loader.demo_partner()
            categories = loader.load_categories()
            new_products = loader.load_products(categories, partner)
            new_pages = loader.load_policies(site)
            new_accounts = loader.load_accounts()
            new_orders = loader.load_orders(site, partner)

        synthetic = 0
        if products:
            # Committed batch by batch, so an interrupted benchmark load keeps what it wrote.
            with _quiet_stock_alerts():
                synthetic = grow_catalog(products, categories, partner, progress=self._progress)
            if synthetic and connection.vendor == "postgresql":
                # Fresh statistics, or the planner guesses the catalogue is tiny and skips the search indexes.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")

        self._summary(site, new_products, new_pages, new_accounts, new_orders, synthetic, started)

    def _progress(self, done: int, total: int) -> None:
        if self.quiet:
            return
        self.stdout.write(f"\r  synthetic products: {done}/{total}", ending="")
        if done == total:
            self.stdout.write("")
        self.stdout.flush()

    def _summary(
        self, site: Any, products: int, pages: int, accounts: int, orders: int, synthetic: int, started: float
    ) -> None:
        if self.quiet:
            return
        out = self.stdout.write
        elapsed = time.monotonic() - started
        out(self.style.SUCCESS(f"Demo shop '{site.name}' ready in {elapsed:.1f}s"))
        out(
            f"  catalog: {loader.Product.objects.count()} products in {loader.Category.objects.count()} "
            f"categories ({products} new demo, {synthetic} new synthetic)"
        )
        out(f"  policy pages: {', '.join(p.url for p in loader.POLICIES)} ({pages} new)")
        out(f"  accounts ({accounts} new):")
        for account in ACCOUNTS:
            role = "staff, /admin/ and /dashboard/" if account.is_superuser else "customer"
            name = account.username or account.email
            out(f"    {name} / {account.password}  ({role})")
        out(f"  orders ({orders} new):")
        for order in ORDERS:
            who = f"guest {GUEST_EMAIL}" if order.guest else order.email
            out(f"    {order.number}  {order.status:<16} {who}")


@contextlib.contextmanager
def _quiet_stock_alerts() -> Iterator[None]:
    """Mute Oscar's stock-alert log lines while loading.

    Oscar checks for back-in-stock subscriptions on every stock record save and logs two lines per
    product; demo products have no subscribers, so those lines would only bury the summary.
    """
    alerts_logger = logging.getLogger("oscar.alerts")
    level = alerts_logger.level
    alerts_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alerts_logger.setLevel(level)
