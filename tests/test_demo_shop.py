"""The demo storefront: `load_demo_shop` content, its idempotency, and the pages a visitor sees."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.flatpages.models import FlatPage
from django.core.management import call_command
from django.db import transaction
from oscar.core.loading import get_model

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
StockRecord = get_model("partner", "StockRecord")
Order = get_model("order", "Order")
Line = get_model("order", "Line")

ORDER_NUMBERS = [str(n) for n in range(100001, 100008)]
PROJECT_LAYOUT = Path(settings.BASE_DIR) / "templates" / "oscar" / "layout.html"
CJK = re.compile(r"[\u4e00-\u9fff]")
COUNTED = (Category, Product, ProductCategory, StockRecord, FlatPage, Order, Line)


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in COUNTED}
    counts["User"] = get_user_model().objects.count()
    return counts


@pytest.fixture(scope="module")
def demo_shop(django_db_setup, django_db_blocker):
    """Load the demo shop twice, once for the whole module, and roll it all back afterwards.

    Loading per test would be slow; rolling back keeps the rows away from other test modules.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        first, second = StringIO(), StringIO()
        call_command("load_demo_shop", stdout=first)
        after_first = _counts()
        call_command("load_demo_shop", stdout=second)
        yield {"first": first.getvalue(), "second": second.getvalue(), "after_first": after_first}
        transaction.set_rollback(True)


pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.mark.django_db
def test_second_run_duplicates_and_changes_nothing(demo_shop):
    assert _counts() == demo_shop["after_first"]
    assert "(0 new demo, 0 new synthetic)" in demo_shop["second"]
    assert "orders (0 new)" in demo_shop["second"]
    # The summary names the demo orders so people can ask the chat about them.
    for number in ORDER_NUMBERS:
        assert number in demo_shop["first"]


@pytest.mark.django_db
def test_catalog_has_sixty_products_in_six_categories_with_stock_and_prices():
    assert Product.objects.count() >= 60
    used = Category.objects.filter(product__isnull=False).distinct()
    assert used.count() >= 6
    for product in Product.objects.all():
        record = product.stockrecords.get()
        assert record.price_currency == "GBP" and record.price > 0
        assert record.partner_sku == product.upc
        assert product.categories.exists()
        assert product.get_product_class() is not None
        assert len(product.description) > 40


@pytest.mark.django_db
def test_products_a_visitor_asks_about_exist_some_in_chinese_some_sold_out():
    for title in (
        "Trail Running Shoes",
        "Hiking Boots",
        "Ceramic Teapot",
        "Waterproof Jacket",
        "Stainless Steel Water Bottle",
    ):
        assert Product.objects.filter(title=title).exists(), title
    chinese = [p for p in Product.objects.all() if CJK.search(p.title) or CJK.search(p.description)]
    assert len(chinese) >= 8
    assert Product.objects.filter(title__contains="龙井绿茶").exists()
    assert StockRecord.objects.filter(num_in_stock=0).count() >= 3
    assert StockRecord.objects.filter(num_in_stock__in=[1, 2, 3]).count() >= 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "facts"),
    [
        ("/shipping/", ["3-5 working days", "£3.95", "over £50", "£7.95", "International", "中文"]),
        ("/returns/", ["30 days", "unused", "free returns label", "中文"]),
        ("/payment/", ["PayPal", "never see or store your card number", "中文"]),
        ("/privacy/", ["GDPR", "中文"]),
    ],
)
def test_policy_pages_are_served_at_their_urls(client, url, facts):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for fact in facts:
        assert fact in page


@pytest.mark.django_db
def test_orders_in_several_states_for_two_customers_and_a_guest():
    users = get_user_model().objects
    customer = users.get(email="customer@example.com")
    other = users.get(email="other@example.com")
    orders = {order.number: order for order in Order.objects.filter(number__in=ORDER_NUMBERS)}
    assert sorted(orders) == ORDER_NUMBERS
    assert {"Pending", "Being processed", "Shipped", "Complete", "Cancelled"} <= {
        order.status for order in orders.values()
    }
    assert {n for n, o in orders.items() if o.user == customer} == {"100001", "100002", "100003", "100004", "100005"}
    assert orders["100006"].user == other
    guest = orders["100007"]
    assert guest.user is None and guest.guest_email == "guest@example.com"
    for order in orders.values():
        lines_total = sum(line.line_price_incl_tax for line in order.lines.all())
        assert order.total_incl_tax == lines_total + order.shipping_incl_tax
        assert order.shipping_address.postcode


@pytest.mark.django_db
def test_demo_accounts_sign_in_and_see_only_their_own_orders(client):
    assert client.login(username="other@example.com", password="other")
    assert client.get("/accounts/orders/100006/").status_code == 200
    assert client.get("/accounts/orders/100001/").status_code == 404
    client.logout()
    assert client.login(username="customer@example.com", password="customer")
    page = client.get("/accounts/orders/").content.decode()
    assert "100002" in page and "100006" not in page
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin")


@pytest.mark.django_db
def test_storefront_pages_render_through_the_layout_with_the_chat_widget(client):
    product = Product.objects.get(title="Ceramic Teapot")
    for url in ("/", "/catalogue/", product.get_absolute_url(), "/basket/", "/accounts/login/", "/shipping/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        origins = {template.origin.name for template in response.templates}
        # The project's layout is the one that puts {% chatbot_widget %} on the page.
        assert str(PROJECT_LAYOUT) in origins, url
    assert "{% chatbot_widget %}" in PROJECT_LAYOUT.read_text()
    # The footer links every policy page.
    home = client.get("/", follow=True).content.decode()
    for url in ("/shipping/", "/returns/", "/payment/", "/privacy/"):
        assert f'href="{url}"' in home


@pytest.mark.django_db
def test_catalogue_and_search_list_the_products(client):
    page = client.get("/catalogue/").content.decode()
    assert "Two-Person Backpacking Tent" in page
    tea = Category.objects.get(slug="tea")
    assert "龙井绿茶 Longjing Green Tea" in client.get(tea.get_absolute_url()).content.decode()
    results = client.get("/search/", {"q": "waterproof jacket"}).content.decode()
    assert "Waterproof Jacket" in results and "Ceramic Teapot" not in results


@pytest.mark.django_db
def test_dashboard_and_admin_render_without_the_widget(client):
    assert client.login(username="admin", password="admin")
    for url in (
        "/dashboard/",
        "/dashboard/orders/",
        "/dashboard/orders/100003/",
        "/admin/",
        "/admin/catalogue/product/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert str(PROJECT_LAYOUT) not in {t.origin.name for t in response.templates}, url


@pytest.mark.django_db
def test_products_option_grows_the_catalog_once():
    target = Product.objects.count() + 25
    out = StringIO()
    call_command("load_demo_shop", products=target, quiet=True, stdout=out)
    assert out.getvalue() == ""
    assert Product.objects.count() == target
    assert StockRecord.objects.count() == target
    assert ProductCategory.objects.filter(product__upc__startswith="BENCH-").count() == 25
    call_command("load_demo_shop", products=target, quiet=True)
    assert Product.objects.count() == target
