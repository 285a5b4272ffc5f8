"""The app's tasks through RQ on Redis (django-tasks-rq), the backend docs/deploying.md describes for
larger shops. rq's SimpleWorker in burst mode runs them in this process: every job that is queued (and,
with its scheduler, every deferred job that is due), then it returns."""

# test_sync's fake chatbot-node fixture is imported and used as an argument.
# ruff: noqa: F811

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

import pytest

from chatbot.models import WebhookDelivery
from chatbot.sync.webhooks import record_event
from chatbot.tasks import worker_command
from tests.test_sync import make_products, node, sync_to  # noqa: F401 - fixture

#: Redis database 7 is this suite's own: it is emptied before and after each test.
REDIS_URL = os.environ.get("CHATBOT_TEST_RQ_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture
def rq_queue(settings, transactional_db, node):
    import django_rq
    from django_tasks_rq.backend import Job

    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    sync_to(settings, node, retry_delays=[600])
    queue = django_rq.get_queue("default", job_class=Job)
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


def run_rq_worker(queue) -> None:
    """``rqworker --burst --with-scheduler`` in this process; rq's signal handlers are put back after."""
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    class BurstWorker(SimpleWorker):
        # A burst worker takes no remote commands; rq's listener for them is a thread that can take a
        # minute (its poll interval) to close when the worker ends.
        def subscribe(self) -> None:
            pass

        def unsubscribe(self) -> None:
            pass

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        BurstWorker([queue], connection=queue.connection, job_class=Job).work(burst=True, with_scheduler=True)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def test_a_saved_product_is_queued_in_redis_and_delivered_by_the_rq_worker(rq_queue, node):
    (product,) = make_products(1)
    assert rq_queue.count >= 1 and node.webhooks == [], "queued, not sent by the code that saved it"
    run_rq_worker(rq_queue)
    assert [hook["data"]["title"] for hook in node.webhooks if hook["event"] == "product.created"] == [product.title]
    assert not WebhookDelivery.objects.exclude(status="delivered").exists()
    assert rq_queue.count == 0
    # What chatbot_check tells to run for this backend (deferred retries need the scheduler).
    assert worker_command() == "python manage.py rqworker --job-class django_tasks_rq.Job --with-scheduler"


def test_a_failed_delivery_is_scheduled_in_rq_and_retried_when_due(rq_queue, node):
    node.webhook_failures = 1
    delivery = record_event("order.updated", {"id": "1", "status": "Shipped"})
    run_rq_worker(rq_queue)
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.attempts == 1
    registry = rq_queue.scheduled_job_registry
    (job_id,) = registry.get_job_ids()
    # Scheduled for when WEBHOOK_RETRY_DELAYS says (600 s after the attempt), to the second.
    assert abs((registry.get_scheduled_time(job_id) - delivery.next_attempt_at).total_seconds()) <= 1

    run_rq_worker(rq_queue)  # not due yet: the scheduler leaves it
    assert node.webhooks == []

    # Ten minutes on: the retry is due (it waited in Redis, not in any process).
    registry.schedule(rq_queue.fetch_job(job_id), datetime.now(UTC))
    run_rq_worker(rq_queue)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert node.webhooks[-1]["data"] == {"id": "1", "status": "Shipped"}
