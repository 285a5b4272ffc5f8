"""Shared fixtures (SSE parsing of real responses, a small Oscar catalogue, customers with orders), and
which tests need the demo shop (the `demo` marker)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connections
from django.test import Client

from chatbot.tasks import task_backends

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
#: Django's own django.tasks from 6.0 on, the backport before (as chatbot.tasks chooses).
TASKS_MODULE = "django.tasks" if find_spec("django.tasks") else "django_tasks"

#: Fixtures that build Oscar data, or queue tasks in the demo's database task backend (django_tasks_db):
#: a test that uses one, even through another fixture, needs the demo.
DEMO_FIXTURES = {"catalogue", "customers", "demo_shop", "task_worker"}


#: Modules (and the browser tests' package) that load the demo's models or packages (django-oscar,
#: django_tasks_db, redis, Playwright) when imported: without the demo they are not collected at all.
DEMO_MODULES = {
    "test_demo_shop.py",
    "test_search.py",
    "test_order_lookup_throttle.py",
    "test_stream_browser.py",
    "test_tasks.py",
    "test_tasks_rq.py",
    "browser",
}
HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.parent == HERE and collection_path.name in DEMO_MODULES and not apps.is_installed("oscar"):
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that need the demo shop (``demo``), and skip them in a project without Oscar
    (``tests.settings_app``, the Django version matrix in ``noxfile.py``)."""
    without_shop = pytest.mark.skip(reason="needs the demo shop (django-oscar, shop_site): run by make test")
    for item in items:
        # The browser tests drive the demo storefront.
        if DEMO_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.demo)
        if item.get_closest_marker("demo") and not apps.is_installed("oscar"):
            item.add_marker(without_shop)


def parse_sse(raw: bytes) -> list[tuple[str, dict]]:
    """Events of a text/event-stream body, as (event, data) pairs."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        events.append((name, json.loads("\n".join(data))))
    return events


class ChatClient:
    """A browser-like visitor: session cookie, CSRF token from a page, JSON posts."""

    def __init__(self, client: Client):
        self.client = client
        self.csrf = self._csrf_token()

    def _csrf_token(self) -> str:
        from django.middleware.csrf import _get_new_csrf_string

        token = _get_new_csrf_string()
        self.client.cookies["csrftoken"] = token
        return token

    def post(self, path: str, data=None, **extra):
        body = data if isinstance(data, str | bytes) else json.dumps(data if data is not None else {})
        extra.setdefault("content_type", "application/json")
        return self.client.post(path, body, HTTP_X_CSRFTOKEN=self.csrf, **extra)

    def ask(self, text: str) -> list[tuple[str, dict]]:
        response = self.post("/api/chatbot/messages", {"text": text})
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "text/event-stream; charset=utf-8"
        return parse_sse(b"".join(response.streaming_content))

    def history(self) -> dict:
        response = self.client.get("/api/chatbot/messages")
        assert response.status_code == 200
        return response.json()


def reply_text(events: list[tuple[str, dict]]) -> str:
    return "".join(data["text"] for name, data in events if name == "delta")


@pytest.fixture
def queued_tasks(settings):
    """Tasks are kept in memory (django-tasks' dummy backend) so the test decides when each one runs,
    in its own thread and transaction; :func:`run_queued_tasks` runs them."""
    settings.TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.dummy.DummyBackend"}}
    return task_backends["default"]


def run_queued_tasks() -> None:
    backend = task_backends["default"]
    while backend.results:
        result = backend.results.pop(0)
        result.task.call(*result.args, **result.kwargs)


def database_worker(*, batch: bool):
    """The worker ``manage.py db_worker`` runs (``--batch``: take every task that is due, then return)."""
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["default"],
        excluded_queue_names=[],
        interval=0 if batch else 0.05,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
    )


def run_database_worker() -> None:
    database_worker(batch=True).run()


@pytest.fixture
def task_worker(settings, transactional_db):
    """Tasks queued in the database, as the demo queues them, and a worker taking them beside the test
    as ``manage.py db_worker`` runs beside the web server; stopped (after its current task) at the end."""
    settings.TASKS = DATABASE_TASKS
    worker = database_worker(batch=False)

    def run() -> None:
        try:
            worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="test-task-worker", daemon=True)
    thread.start()
    yield worker
    worker.running = False
    thread.join(30)


@pytest.fixture
def chat(client) -> ChatClient:
    client.defaults["HTTP_HOST"] = "testserver"
    client.enforce_csrf_checks = True
    return ChatClient(Client(enforce_csrf_checks=True))


@pytest.fixture
def recording(settings):
    """The recording provider (``tests.staff_providers``): every request it gets is kept, reset here."""
    from tests.staff_providers import RECORDER

    RECORDER.reset()
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.staff_providers.RecordingProvider"}
    return RECORDER


@pytest.fixture
def make_chat():
    def make() -> ChatClient:
        return ChatClient(Client(enforce_csrf_checks=True))

    return make


CATALOGUE = [
    ("Trail Running Shoes", "Lightweight trail running shoes with a grippy sole. Breathable mesh upper.", "89.00", 12),
    ("Leather Hiking Boots", "Waterproof leather hiking boots with ankle support for long walks.", "129.00", 2),
    ("Waterproof Jacket", "A packable waterproof jacket with taped seams and an adjustable hood.", "110.00", 0),
    ("Ceramic Teapot", "A 1 litre ceramic teapot with a stainless steel infuser.", "34.50", 25),
    ("龙井绿茶 Longjing Green Tea", "Hand-picked Longjing tea from Hangzhou. 西湖龙井，清香甘醇。", "18.00", 40),
    ("Stainless Steel Water Bottle", "Insulated 750 ml bottle that keeps drinks cold for 24 hours.", "24.00", 8),
]


@pytest.fixture
def catalogue(db):
    from oscar.core.loading import get_model

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    product_class, _ = ProductClass.objects.get_or_create(name="Goods", defaults={"requires_shipping": True})
    partner, _ = Partner.objects.get_or_create(name="Warehouse")
    products = {}
    for index, (title, description, price, stock) in enumerate(CATALOGUE):
        product = Product.objects.create(
            title=title, description=description, product_class=product_class, structure="standalone"
        )
        StockRecord.objects.create(
            product=product,
            partner=partner,
            partner_sku=f"SKU-{index}",
            price=Decimal(price),
            price_currency="GBP",
            num_in_stock=stock,
        )
        products[title] = product
    return products


def _order(number: str, *, user=None, guest_email: str = "", status: str = "Shipped"):
    from django.contrib.sites.models import Site
    from django.utils import timezone
    from oscar.core.loading import get_model

    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    order = Order.objects.create(
        number=number,
        site=Site.objects.get_current(),
        user=user,
        guest_email=guest_email,
        currency="GBP",
        total_incl_tax=Decimal("89.00"),
        total_excl_tax=Decimal("74.17"),
        shipping_incl_tax=Decimal("0"),
        shipping_excl_tax=Decimal("0"),
        shipping_method="Standard shipping",
        status=status,
        date_placed=timezone.now(),
    )
    Line.objects.create(
        order=order,
        title="Trail Running Shoes",
        quantity=1,
        line_price_incl_tax=Decimal("89.00"),
        line_price_excl_tax=Decimal("74.17"),
        line_price_before_discounts_incl_tax=Decimal("89.00"),
        line_price_before_discounts_excl_tax=Decimal("74.17"),
        partner_name="Warehouse",
        partner_sku="SKU-0",
        num_allocated=0,
    )
    return order


@pytest.fixture
def customers(db):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    alice = User.objects.create_user("alice", "alice@example.com", "alice-pass")
    bob = User.objects.create_user("bob", "bob@example.com", "bob-pass")
    orders = {
        "alice": _order("200001", user=alice, status="Shipped"),
        "bob": _order("200002", user=bob, status="Pending"),
        "guest": _order("200003", guest_email="guest@example.com", status="Being processed"),
    }
    return {"alice": alice, "bob": bob, "orders": orders}


class AsgiLiveServer:
    """The server behind the ``live_server`` fixture: the production server's application
    (``chatbot.asgi``, replies relayed on the event loop) under uvicorn, in a thread of the test
    process so that it uses the test database, with static files served as Django's live server
    serves them. Every test that talks to a live server talks to the ASGI server ``make demo`` runs."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        import socket

        import uvicorn
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.handlers.wsgi import WSGIHandler
        from django.test.utils import modify_settings

        from chatbot.asgi import asgi_application

        application = asgi_application(StaticFilesHandler(WSGIHandler()), threads=16)
        self._socket = socket.socket()
        self._socket.bind((self.host, 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(application, lifespan="on", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="asgi-live-server", daemon=True
        )
        # Enabled and disabled around each test by pytest-django's live server helper.
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": self.host})
        self._thread.start()
        deadline = 30.0
        started = threading.Event()
        while not self._server.started and self._thread.is_alive() and not started.wait(0.01):
            deadline -= 0.01
            assert deadline > 0, "the ASGI live server did not start"
        assert self._server.started, "the ASGI live server did not start"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.url

    def __add__(self, other: str) -> str:
        return f"{self}{other}"


@pytest.fixture(scope="session")
def live_server():
    server = AsgiLiveServer()
    yield server
    server.stop()
