"""chatbot_sync against a local chatbot-node, and signed change webhooks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks import task_backends

from chatbot.models import SyncState, WebhookDelivery
from chatbot.sync import webhooks
from tests.conftest import run_queued_tasks
from tests.fakes.chatbot_node_sync_server import FakeSyncNode

SSO_SECRET = "a-test-sso-secret-that-is-long-enough-for-hs256"
WEBHOOK_SECRET = "a-test-webhook-secret"
SHOP_ID = "shop-7"


@pytest.fixture
def node():
    with FakeSyncNode(sso_secret=SSO_SECRET, shop_id=SHOP_ID, webhook_secret=WEBHOOK_SECRET) as fake:
        yield fake
    assert fake.problems == []


@pytest.fixture
def configured(settings, node, queued_tasks):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "NODE_URL": node.url,
        "SHOP_ID": SHOP_ID,
        "SSO_SECRET": SSO_SECRET,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_RETRY_DELAYS": [10, 60],
    }
    return node


def make_products(count: int) -> list:
    from oscar.core.loading import get_model

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    product_class, _ = ProductClass.objects.get_or_create(name="Goods")
    partner, _ = Partner.objects.get_or_create(name="Warehouse")
    products = []
    for index in range(count):
        product = Product.objects.create(title=f"Tent {index}", product_class=product_class, structure="standalone")
        StockRecord.objects.create(
            product=product, partner=partner, partner_sku=f"TENT-{index}", price=Decimal("99.00"), num_in_stock=3
        )
        products.append(product)
    return products


def run_sync(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("chatbot_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- bulk sync ------------------------------------------------------------------------------------------


def test_products_are_sent_in_batches_with_the_sso_jwt(db, configured):
    products = make_products(12)
    out, _ = run_sync("products", "--batch-size", "5")
    assert configured.batches["products"] == [5, 5, 2]
    assert configured.ids("products") == [str(p.pk) for p in products]
    first = configured.items["products"][0]
    assert first["title"] == "Tent 0" and first["price"] == "99.00" and first["stock"] == 3
    assert "[##############################] 12/12" in out
    assert "products: sent 12 records in 3 batches" in out
    state = SyncState.objects.get(kind="products")
    assert state.result == "ok" and state.records_sent == 12 and state.last_success_at is not None


def test_a_failed_run_resumes_without_duplicates_or_gaps(db, configured):
    products = make_products(23)
    configured.fail_on = 3
    with pytest.raises(CommandError, match="Sync failed for products"):
        run_sync("products", "--batch-size", "5")
    state = SyncState.objects.get(kind="products")
    assert state.result == "failed" and "503" in state.last_error
    assert state.cursor == products[9].pk and state.records_sent == 10
    assert configured.ids("products") == [str(p.pk) for p in products[:10]]

    out, _ = run_sync("products", "--batch-size", "5")
    assert f"resumed after id {products[9].pk}" in out
    ids = configured.ids("products")
    assert ids == [str(p.pk) for p in products]
    assert len(ids) == len(set(ids))
    state.refresh_from_db()
    assert state.result == "ok" and state.records_sent == 23 and state.batches_sent == 5


def test_full_starts_over_and_a_finished_run_is_not_resumed(db, configured):
    make_products(4)
    run_sync("products", "--batch-size", "3")
    run_sync("products", "--batch-size", "3")
    assert len(configured.ids("products")) == 8
    configured.fail_on, configured.fail_times = configured.bulk_requests + 2, 1
    with pytest.raises(CommandError):
        run_sync("products", "--batch-size", "3")
    run_sync("products", "--full", "--batch-size", "3")
    assert SyncState.objects.get(kind="products").records_sent == 4


def _another_run_alive(kind: str, *, seen: timedelta, cursor: int = 0) -> SyncState:
    """The state a run in another process leaves while it sends: running, last seen ``seen`` ago."""
    return SyncState.objects.create(
        kind=kind, result="running", cursor=cursor, records_sent=0, started_at=timezone.now() - seen,
        heartbeat_at=timezone.now() - seen,
    )


def test_a_second_run_while_one_is_alive_is_refused_and_changes_nothing(db, configured):
    make_products(3)
    _another_run_alive("products", seen=timedelta(seconds=20))
    with pytest.raises(CommandError, match="Sync failed for products"):
        run_sync("products")
    assert configured.ids("products") == []
    state = SyncState.objects.get(kind="products")
    assert (state.result, state.records_sent) == ("running", 0)


def test_the_refusal_says_why_and_what_to_do(db, configured):
    _another_run_alive("orders", seen=timedelta(seconds=20))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("chatbot_sync", "orders", stdout=StringIO(), stderr=err)
    assert "another chatbot_sync run is sending orders" in err.getvalue()
    assert "--force" in err.getvalue()


def test_a_run_that_went_silent_is_taken_over_from_its_cursor(db, configured):
    products = make_products(5)
    _another_run_alive("products", seen=timedelta(minutes=30), cursor=products[1].pk)
    out, _ = run_sync("products")
    assert f"resumed after id {products[1].pk}" in out
    assert configured.ids("products") == [str(p.pk) for p in products[2:]]
    assert SyncState.objects.get(kind="products").result == "ok"


def test_force_runs_even_while_another_run_looks_alive(db, configured):
    make_products(2)
    _another_run_alive("products", seen=timedelta(seconds=5))
    run_sync("products", "--force", "--full")
    assert len(configured.ids("products")) == 2
    assert SyncState.objects.get(kind="products").result == "ok"


def test_dry_run_sends_nothing(db, configured):
    make_products(7)
    out, _ = run_sync("products", "--dry-run", "--batch-size", "5")
    assert "would send 7 records in 2 batches" in out
    assert configured.bulk_requests == 0
    assert not SyncState.objects.filter(kind="products").exclude(result="never").exists()


def test_orders_and_customers(db, customers, configured):
    run_sync("orders", "customers")
    orders = {item["number"]: item for item in configured.items["orders"]}
    assert set(orders) == {"200001", "200002", "200003"}
    assert orders["200003"]["email"] == "guest@example.com" and orders["200001"]["lines"][0]["quantity"] == 1
    emails = {item["email"] for item in configured.items["customers"]}
    assert emails == {"alice@example.com", "bob@example.com"}


def test_status_without_a_kind_and_unknown_kinds(db, configured):
    make_products(1)
    run_sync("products")
    out, _ = run_sync()
    assert "products  ok" in out and "orders    never synced" in out
    with pytest.raises(CommandError, match="Unknown kind"):
        run_sync("wishes")


def test_missing_sso_secret_is_an_error_not_an_unauthenticated_upload(db, settings, node):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": node.url, "SHOP_ID": SHOP_ID, "SSO_SECRET": ""}
    make_products(1)
    with pytest.raises(CommandError, match="SSO_SECRET"):
        run_sync("products")
    assert node.requests == []


def test_unreachable_service_is_recorded(db, settings):
    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    settings.CHATBOT = {
        **settings.CHATBOT,
        "NODE_URL": "http://127.0.0.1:9",
        "SHOP_ID": SHOP_ID,
        "SSO_SECRET": SSO_SECRET,
    }
    make_products(1)
    with pytest.raises(CommandError):
        run_sync("products")
    assert "connection failed" in SyncState.objects.get(kind="products").last_error


# -- webhooks -------------------------------------------------------------------------------------------


def test_product_change_is_pushed_signed(db, configured, django_capture_on_commit_callbacks):
    (product,) = make_products(1)
    run_queued_tasks()
    configured.webhooks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        product.title = "Tent deluxe"
        product.save()
    run_queued_tasks()
    events = [hook for hook in configured.webhooks if hook["event"] == "product.updated"]
    assert events and events[-1]["data"]["title"] == "Tent deluxe"
    assert events[-1]["shopId"] == SHOP_ID and events[-1]["timestamp"]
    assert WebhookDelivery.objects.filter(event="product.updated", status="delivered").exists()


def test_created_deleted_orders_and_customers_are_pushed(db, configured, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (product,) = make_products(1)
        product_id = str(product.pk)
    with django_capture_on_commit_callbacks(execute=True):
        product.delete()
    with django_capture_on_commit_callbacks(execute=True):
        (short_lived,) = make_products(1)
        short_lived_id = short_lived.pk
        short_lived.delete()
    with django_capture_on_commit_callbacks(execute=True):
        from django.contrib.auth import get_user_model

        from tests.conftest import _order

        carol = get_user_model().objects.create_user("carol", "carol@example.com", "pw")
        _order("300001", user=carol)
    run_queued_tasks()
    seen = [(hook["event"], hook["data"].get("id") or hook["data"].get("number")) for hook in configured.webhooks]
    assert ("product.created", product_id) in seen
    assert ("product.deleted", product_id) in seen
    assert [event for event, pk in seen if pk == str(short_lived_id)] == ["product.deleted"]
    assert ("customer.created", str(carol.pk)) in seen
    (order,) = [hook["data"] for hook in configured.webhooks if hook["event"] == "order.created"]
    assert order["number"] == "300001" and order["lines"] == [{"title": "Trail Running Shoes", "quantity": 1}]
    assert order["email"] == "carol@example.com"


def test_failed_delivery_is_retried_later_then_delivered(db, configured):
    delivery = webhooks.record_event("order.updated", {"id": "1", "status": "Shipped"})
    configured.webhook_failures = 1
    webhooks.deliver_webhook.call(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.attempts == 1
    assert "HTTP 500" in delivery.last_error and delivery.response_status == 500
    (retry,) = task_backends["default"].results
    assert retry.task.run_after is not None and retry.args == [delivery.pk]
    run_queued_tasks()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.last_error == ""
    assert configured.webhooks[-1]["data"] == {"id": "1", "status": "Shipped"}


def test_delivery_fails_for_good_after_the_last_retry(db, configured):
    delivery = webhooks.record_event("product.deleted", {"id": "5"})
    configured.webhook_failures = 10
    webhooks.deliver_webhook.call(delivery.pk)
    run_queued_tasks()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.next_attempt_at is None


@pytest.mark.parametrize("answer", ["accepted", "refused"])
def test_a_delivery_deleted_while_it_is_sent_stays_deleted(transactional_db, configured, answer):
    # A purge of the customer it is about can delete a delivery while chatbot-node is answering it.
    delivery = webhooks.record_event("order.updated", {"id": "1", "customer_id": "7"})
    task_backends["default"].results.clear()  # its first attempt, queued on commit: run below instead
    configured.webhook_failures = 1 if answer == "refused" else 0

    def purge(body):
        from django.db import connection

        WebhookDelivery.objects.filter(public_id=body["id"]).delete()
        connection.close()  # the fake server's own thread

    configured.on_webhook = purge
    assert webhooks.deliver_webhook.call(delivery.pk) == ("retrying" if answer == "refused" else "delivered")
    assert not WebhookDelivery.objects.exists(), "recording the outcome must not insert the row again"
    assert task_backends["default"].results == [], "no retry of a deleted delivery"


def test_signature_is_hex_hmac_sha256_of_the_exact_body():
    body = b'{"event":"product.updated","data":{"id":"1"}}'
    signature = webhooks.sign(body, "s3cret")
    assert signature == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhooks.verify(body, signature, "s3cret")
    assert not webhooks.verify(body + b" ", signature, "s3cret")
    assert not webhooks.verify(body, signature, "")
    with pytest.raises(ValueError):
        webhooks.sign(body, "")


def test_webhooks_are_off_without_url_and_secret(db, settings, django_capture_on_commit_callbacks):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET": ""}
    with django_capture_on_commit_callbacks(execute=True):
        make_products(2)
    assert not WebhookDelivery.objects.exists()
