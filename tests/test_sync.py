"""chatbot_sync against a local chatbot-node, and signed change webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chatbot.models import SyncState, WebhookDelivery
from chatbot.sync import webhooks
from chatbot.sync.encoding import encode
from chatbot.tasks import task_backends
from tests.conftest import run_queued_tasks
from tests.fakes.chatbot_node_sync_server import FakeSyncNode, js_number, js_parse, js_stringify

SSO_SECRET = "a-test-sso-secret-that-is-long-enough-for-hs256"
WEBHOOK_SECRET = "a-test-webhook-secret"
SHOP_ID = "shop-7"


@pytest.fixture
def node():
    # chatbot-node's JWT_SECRET is our SSO secret, its EVERSHOP_WEBHOOK_SECRET our webhook secret.
    with FakeSyncNode(jwt_secret=SSO_SECRET, shop_id=SHOP_ID, webhook_secret=WEBHOOK_SECRET) as fake:
        yield fake
    assert fake.problems == []


def sync_to(settings, node, *, retry_delays: list[int]) -> None:
    """Switch on syncing and change webhooks to the fake ``node``."""
    settings.CHATBOT = {
        **settings.CHATBOT,
        "NODE_URL": node.url,
        "SHOP_ID": SHOP_ID,
        "SSO_SECRET": SSO_SECRET,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_RETRY_DELAYS": retry_delays,
    }


@pytest.fixture
def configured(settings, node, queued_tasks):
    sync_to(settings, node, retry_delays=[10, 60])
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


@pytest.mark.demo
def test_products_are_sent_in_batches_with_the_sso_jwt(db, configured):
    products = make_products(12)
    out, _ = run_sync("products", "--batch-size", "5")
    assert configured.batches["product"] == [5, 5, 2]
    assert configured.ids("product") == [str(p.pk) for p in products]
    assert {r.path for r in configured.requests} == {"/api/coze/bot/updateDataset/1"}
    assert [r.json["type"] for r in configured.requests] == [1, 1, 1]
    first = configured.items["product"][0]
    assert first["title"] == "Tent 0" and first["price"] == "99.00" and first["stock"] == 3
    assert "[##############################] 12/12" in out
    assert "products: sent 12 records in 3 batches" in out
    state = SyncState.objects.get(kind="products")
    assert state.result == "ok" and state.records_sent == 12 and state.last_success_at is not None


@pytest.mark.demo
def test_a_failed_run_resumes_without_duplicates_or_gaps(db, configured):
    products = make_products(23)
    configured.fail_on = 3
    with pytest.raises(CommandError, match="Sync failed for products"):
        run_sync("products", "--batch-size", "5")
    state = SyncState.objects.get(kind="products")
    assert state.result == "failed" and "503" in state.last_error
    assert state.cursor == products[9].pk and state.records_sent == 10
    assert configured.ids("product") == [str(p.pk) for p in products[:10]]

    out, _ = run_sync("products", "--batch-size", "5")
    assert f"resumed after id {products[9].pk}" in out
    ids = configured.ids("product")
    assert ids == [str(p.pk) for p in products]
    assert len(ids) == len(set(ids))
    state.refresh_from_db()
    assert state.result == "ok" and state.records_sent == 23 and state.batches_sent == 5


@pytest.mark.demo
def test_full_starts_over_and_a_finished_run_is_not_resumed(db, configured):
    make_products(4)
    run_sync("products", "--batch-size", "3")
    run_sync("products", "--batch-size", "3")
    assert len(configured.ids("product")) == 8
    configured.fail_on, configured.fail_times = configured.bulk_requests + 2, 1
    with pytest.raises(CommandError):
        run_sync("products", "--batch-size", "3")
    run_sync("products", "--full", "--batch-size", "3")
    assert SyncState.objects.get(kind="products").records_sent == 4


def _another_run_alive(kind: str, *, seen: timedelta, cursor: int = 0) -> SyncState:
    """The state a run in another process leaves while it sends: running, last seen ``seen`` ago."""
    return SyncState.objects.create(
        kind=kind,
        result="running",
        cursor=cursor,
        records_sent=0,
        started_at=timezone.now() - seen,
        heartbeat_at=timezone.now() - seen,
    )


@pytest.mark.demo
def test_a_second_run_while_one_is_alive_is_refused_and_changes_nothing(db, configured):
    make_products(3)
    _another_run_alive("products", seen=timedelta(seconds=20))
    with pytest.raises(CommandError, match="Sync failed for products"):
        run_sync("products")
    assert configured.ids("product") == []
    state = SyncState.objects.get(kind="products")
    assert (state.result, state.records_sent) == ("running", 0)


def test_the_refusal_says_why_and_what_to_do(db, configured):
    _another_run_alive("orders", seen=timedelta(seconds=20))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("chatbot_sync", "orders", stdout=StringIO(), stderr=err)
    assert "another chatbot_sync run is sending orders" in err.getvalue()
    assert "--force" in err.getvalue()


@pytest.mark.demo
def test_a_run_that_went_silent_is_taken_over_from_its_cursor(db, configured):
    products = make_products(5)
    _another_run_alive("products", seen=timedelta(minutes=30), cursor=products[1].pk)
    out, _ = run_sync("products")
    assert f"resumed after id {products[1].pk}" in out
    assert configured.ids("product") == [str(p.pk) for p in products[2:]]
    assert SyncState.objects.get(kind="products").result == "ok"


@pytest.mark.demo
def test_force_runs_even_while_another_run_looks_alive(db, configured):
    make_products(2)
    _another_run_alive("products", seen=timedelta(seconds=5))
    run_sync("products", "--force", "--full")
    assert len(configured.ids("product")) == 2
    assert SyncState.objects.get(kind="products").result == "ok"


@pytest.mark.demo
def test_dry_run_sends_nothing(db, configured):
    make_products(7)
    out, _ = run_sync("products", "--dry-run", "--batch-size", "5")
    assert "would send 7 records in 2 batches" in out
    assert configured.bulk_requests == 0
    assert not SyncState.objects.filter(kind="products").exclude(result="never").exists()


@pytest.mark.demo
def test_orders_and_customers(db, customers, configured):
    run_sync("orders", "customers")
    orders = {item["number"]: item for item in configured.items["order"]}
    assert set(orders) == {"200001", "200002", "200003"}
    assert orders["200003"]["email"] == "guest@example.com" and orders["200001"]["lines"][0]["quantity"] == 1
    emails = {item["email"] for item in configured.items["customer"]}
    assert emails == {"alice@example.com", "bob@example.com"}
    paths = {r.path.rsplit("/", 1)[-1] for r in configured.requests}
    assert paths == {"2", "3"} and None not in configured.items


@pytest.mark.demo
def test_status_without_a_kind_and_unknown_kinds(db, configured):
    make_products(1)
    run_sync("products")
    out, _ = run_sync()
    assert "products  ok" in out and "orders    never synced" in out
    with pytest.raises(CommandError, match="Unknown kind"):
        run_sync("wishes")


@pytest.mark.demo
def test_a_path_chatbot_node_cannot_read_a_type_from_fails_the_run(db, configured, settings):
    # chatbot-node answers 200 to /updateDataset/products too, and files the upload under no type.
    settings.CHATBOT = {**settings.CHATBOT, "SYNC_PATH": "/api/coze/bot/updateDataset/{kind}"}
    make_products(2)
    err = StringIO()
    with pytest.raises(CommandError, match="Sync failed for products"):
        call_command("chatbot_sync", "products", stdout=StringIO(), stderr=err)
    assert "no dataset type" in err.getvalue() and "{type}" in err.getvalue()
    assert configured.requests[-1].path == "/api/coze/bot/updateDataset/products"
    state = SyncState.objects.get(kind="products")
    assert state.result == "failed" and state.records_sent == 0 and "no dataset type" in state.last_error


@pytest.mark.demo
def test_a_jwt_secret_that_differs_is_refused_and_says_what_to_set(db, configured):
    configured.jwt_secret = "chatbot-node-secret-change-in-production"  # its default
    make_products(1)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("chatbot_sync", "products", stdout=StringIO(), stderr=err)
    assert "HTTP 401" in err.getvalue() and "JWT_SECRET must be the same as CHATBOT_SSO_SECRET" in err.getvalue()
    assert SSO_SECRET not in err.getvalue()


@pytest.mark.demo
def test_missing_sso_secret_is_an_error_not_an_unauthenticated_upload(db, settings, node):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": node.url, "SHOP_ID": SHOP_ID, "SSO_SECRET": ""}
    make_products(1)
    with pytest.raises(CommandError, match="SSO_SECRET"):
        run_sync("products")
    assert node.requests == []


@pytest.mark.demo
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


@pytest.mark.demo
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
    sent = configured.requests[-1]
    assert sent.path == "/api/webhooks/evershop/product"
    assert sent.headers["x-evershop-signature"] == sent.headers["x-webhook-signature"]
    assert sent.headers["x-evershop-signature"] == webhooks.sign(sent.body, WEBHOOK_SECRET)


def test_each_record_type_goes_to_its_own_route(db, configured):
    for event in ("product.deleted", "order.updated", "customer.created"):
        webhooks.deliver_webhook.call(webhooks.record_event(event, {"id": "1"}).pk)
    assert configured.webhook_routes == ["product", "order", "customer"]
    assert WebhookDelivery.objects.filter(status="delivered").count() == 3


def test_a_body_with_floats_and_index_like_keys_still_verifies(db, configured):
    # chatbot-node signs JSON.stringify(JSON.parse(body)): 10.0 would come back as 10, {"b", "2"} as {"2", "b"}.
    data = {
        "id": "1",
        "weight": 10.0,
        "rating": 4.5,
        "big": 2**60,
        "sizes": {"b": 1, "42": "x", "2": "y"},
        "name": "茶壶",
    }
    delivery = webhooks.record_event("product.updated", data)
    webhooks.deliver_webhook.call(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered", delivery.last_error
    received = configured.webhooks[-1]["data"]
    assert received["weight"] == "10.0" and received["rating"] == "4.5" and received["big"] == str(2**60)
    assert list(received["sizes"]) == ["2", "42", "b"] and received["name"] == "茶壶"


def test_a_webhook_secret_that_differs_is_retried_and_says_what_to_set(db, configured):
    configured.webhook_secret = "another-secret"
    delivery = webhooks.record_event("order.updated", {"id": "1"})
    webhooks.deliver_webhook.call(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.response_status == 401
    assert "EVERSHOP_WEBHOOK_SECRET must be the same as CHATBOT_WEBHOOK_SECRET" in delivery.last_error
    configured.problems.clear()  # the fake noted the mismatch; that is what this test is about


def test_the_fake_refuses_a_body_javascript_prints_differently(db, configured):
    import requests

    for body in (b'{"event":"product.updated","data":{"price":10.0}}', b'{"event": "product.updated", "data": {}}'):
        signature = webhooks.sign(body, WEBHOOK_SECRET)
        answer = requests.post(
            configured.url + "/api/webhooks/evershop/product",
            data=body,
            headers={"Content-Type": "application/json", "X-EverShop-Signature": signature},
            timeout=5,
        )
        assert answer.status_code == 401 and answer.json() == {"code": 1, "msg": "Invalid webhook signature"}
    configured.problems.clear()


@pytest.mark.parametrize(
    ("number", "printed"),
    [
        (10.0, "10"),
        (-0.0, "0"),
        (4.5, "4.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123e18, "123000000000000000000"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (2.0**60, "1152921504606847000"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (float("nan"), "null"),
    ],
)
def test_the_fake_prints_numbers_as_javascript_does(number, printed):
    assert js_number(number) == printed


def test_bodies_are_what_json_stringify_prints_back():
    data = {"b": 1, "10": "y", "2": "x", "a": 1.5, "w": 10.0, "n": 2**60, "d": Decimal("9.90"), "z": "中\n\u2028"}
    body = encode(data)
    assert (
        body
        == (
            '{"2":"x","10":"y","b":1,"a":"1.5","w":"10.0","n":"1152921504606846976","d":"9.90","z":"中\\n\u2028"}'
        ).encode()
    )
    assert js_stringify(js_parse(body)).encode() == body
    with pytest.raises(ValueError):
        encode({"price": float("nan")})


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_node_prints_our_bodies_back_and_agrees_with_the_fake():
    script = "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0, 'utf8'))))"
    data = {"b": 1, "10": "y", "2": "x", "w": 10.0, "r": 0.1 + 0.2, "n": 2**60, "z": '中\n\u2028\x01"/'}
    ours = encode(data)
    assert subprocess.run(["node", "-e", script], input=ours, capture_output=True, check=True).stdout == ours
    plain = json.dumps({**data, "e": 1e-7, "k": 1e21}, separators=(",", ":"), ensure_ascii=False).encode()
    printed = subprocess.run(["node", "-e", script], input=plain, capture_output=True, check=True).stdout
    assert printed != plain and js_stringify(js_parse(plain)).encode() == printed


@pytest.mark.demo
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


@pytest.mark.demo
def test_webhooks_are_off_without_url_and_secret(db, settings, django_capture_on_commit_callbacks):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET": ""}
    with django_capture_on_commit_callbacks(execute=True):
        make_products(2)
    assert not WebhookDelivery.objects.exists()
