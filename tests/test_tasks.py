"""Background work goes through the Tasks API only: queued durably in the database (the demo's and
the container's backend) and run by a worker, wherever it was queued from; the checks name a missing
worker, and the immediate backend is a warning."""

# test_sync's fake chatbot-node fixture is imported and used as an argument.
# ruff: noqa: F811

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bench.servers import free_port, production_command
from chatbot.checks import check_settings, check_task_worker
from chatbot.models import Conversation, WebhookDelivery
from chatbot.notifications import send_handoff_email
from chatbot.sync.webhooks import deliver_webhook
from tests.conftest import DATABASE_TASKS, run_database_worker
from tests.test_packaging import wait_healthy
from tests.test_sync import SHOP_ID, SSO_SECRET, WEBHOOK_SECRET, node, sync_to  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
DELIVER = "chatbot.sync.webhooks.deliver_webhook"


@pytest.fixture
def queued_in_database(settings, transactional_db, node):
    """The demo's task backend, with webhooks to the fake chatbot-node switched on."""
    settings.TASKS = DATABASE_TASKS
    sync_to(settings, node, retry_delays=[600])
    return node


def demo_env(**env: str) -> dict[str, str]:
    """A process of its own with the demo's settings, on the test database."""
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_site.settings", "DATABASE_URL": url, **env}


def manage(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=demo_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def threads() -> set[threading.Thread]:
    """The app's threads (it names them chatbot-...)."""
    return {thread for thread in threading.enumerate() if thread.name.startswith("chatbot")}


def test_a_product_saved_in_a_management_command_is_queued_and_delivered_by_a_worker(queued_in_database):
    from oscar.core.loading import get_model

    get_model("catalogue", "ProductClass").objects.create(name="Goods")
    save = (
        "from oscar.core.loading import get_model\n"
        "Product = get_model('catalogue', 'Product')\n"
        "Product.objects.create(title='Storm Shelter', structure='standalone',\n"
        "                       product_class=get_model('catalogue', 'ProductClass').objects.get(name='Goods'))\n"
    )
    node = queued_in_database
    saved = manage(
        "shell",
        "-c",
        save,
        CHATBOT_NODE_URL=node.url,
        CHATBOT_SHOP_ID=SHOP_ID,
        CHATBOT_SSO_SECRET=SSO_SECRET,
        CHATBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    assert saved.returncode == 0, saved.stderr
    # The command's process has ended; what it changed waits in the database, not in a thread it took along.
    assert node.webhooks == []
    (queued,) = DBTaskResult.objects.filter(task_path=DELIVER)
    assert queued.status == "READY"
    delivery = WebhookDelivery.objects.get(event="product.created")
    assert delivery.status == "pending"

    run_database_worker()

    assert [hook["data"]["title"] for hook in node.webhooks if hook["event"] == "product.created"] == ["Storm Shelter"]
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"


def test_a_failed_delivery_is_retried_later_by_the_worker_not_by_a_waiting_thread(queued_in_database):
    from chatbot.sync.webhooks import record_event

    node = queued_in_database
    node.webhook_failures = 1
    before = threads()
    delivery = record_event("order.updated", {"id": "1", "status": "Shipped"})
    run_database_worker()
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.attempts == 1
    assert threads() <= before, "nothing waits for the retry in this process"
    retry = DBTaskResult.objects.get(task_path=DELIVER, status="READY")
    assert retry.args_kwargs == {"args": [delivery.pk], "kwargs": {}}
    # Queued for when WEBHOOK_RETRY_DELAYS says (600 s after the attempt), to the second.
    assert abs((retry.run_after - delivery.next_attempt_at).total_seconds()) <= 1
    assert delivery.next_attempt_at - delivery.updated >= timedelta(seconds=599)

    run_database_worker()  # before it is due a worker leaves it alone
    assert node.webhooks == []

    # Ten minutes on (the worker may have been restarted meanwhile: the retry is a row, not a thread).
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_database_worker()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert node.webhooks[-1]["data"] == {"id": "1", "status": "Shipped"}


def test_tasks_nobody_takes_are_reported_with_the_command_that_starts_a_worker(settings, transactional_db):
    settings.TASKS = DATABASE_TASKS
    settings.CHATBOT = {**settings.CHATBOT, "WORKER_MISSING_AFTER": 300}
    deliver_webhook.enqueue(0)
    assert check_task_worker(databases=["default"]) == [], "a task just queued is not a missing worker"
    later = deliver_webhook.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(0)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))
    (warning,) = check_task_worker(databases=["default"])
    assert warning.id == "chatbot.W041"
    assert warning.msg.startswith("1 task(s) of the support chat have waited over 300 s")
    assert "`python manage.py db_worker`" in warning.hint
    assert check_task_worker() == [], "only with --database, like Django's other database checks"

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("chatbot_check", stdout=out)
    assert "worker: python manage.py db_worker" in out.getvalue()
    assert "chatbot.W041" in out.getvalue()

    run_database_worker()
    assert check_task_worker(databases=["default"]) == []
    assert DBTaskResult.objects.get(pk=later.id).status == "READY", "deferred, not yet due"


@pytest.mark.django_db
def test_the_immediate_backend_runs_tasks_where_they_are_queued_and_is_a_warning(settings):
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_EMAILS": ["help@shop.example"]}
    conversation = Conversation.objects.create(guest_id="waiting-visitor")
    before = threads()
    send_handoff_email.enqueue(conversation.pk)
    assert len(mail.outbox) == 1, "sent before enqueue() returned"
    assert threads() <= before
    (warning,) = [message for message in check_settings() if message.id == "chatbot.W040"]
    assert "tests and development" in warning.hint

    settings.TASKS = DATABASE_TASKS
    assert "chatbot.W040" not in [message.id for message in check_settings()]


def test_the_demo_and_the_container_queue_tasks_in_the_database():
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.TASKS['default']['BACKEND'], 'django_tasks_db' in settings.INSTALLED_APPS)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_site.settings"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["django_tasks_db.DatabaseBackend", "True"]


def test_the_server_runs_a_worker_beside_itself_starts_it_again_and_stops_it_with_itself(
    settings, transactional_db, tmp_path
):
    # make demo and the container's CMD: gunicorn with shop_site/gunicorn.py runs manage.py db_worker.
    settings.TASKS = DATABASE_TASKS
    port = free_port()
    log = tmp_path / "server.log"
    command = production_command(port, workers=1, threads=4)
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=demo_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/chatbot/health", server)
        run_one_task(log)
        # django_tasks_db's worker dies when a failover ends its connection as it connects (seen under
        # pg_terminate_backend storms); however it ends, the server starts it again and work goes on.
        first = re.search(r"Started the task worker \(manage.py db_worker, pid (\d+)\)", log.read_text())
        assert first, log.read_text()
        os.kill(int(first.group(1)), signal.SIGKILL)
        run_one_task(log)
    finally:
        server.terminate()
        server.wait(60)
    workers = re.findall(r"Started the task worker \(manage.py db_worker, pid (\d+)\)", log.read_text())
    assert len(workers) == 2 and "The task worker ended; starting it again in 1 s" in log.read_text(), log.read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "the worker stopped with the server"


def run_one_task(log: Path) -> None:
    queued = deliver_webhook.enqueue(0)
    end = time.monotonic() + 60
    while DBTaskResult.objects.get(pk=queued.id).status != "SUCCESSFUL":
        assert time.monotonic() < end, log.read_text()
        time.sleep(0.1)
