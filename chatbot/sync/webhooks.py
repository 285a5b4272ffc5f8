"""Change events pushed to chatbot-node's webhook receiver as they happen.

Each event is stored as a :class:`chatbot.models.WebhookDelivery` in the transaction that changed the
data, and sent by a Django Task once that transaction commits, to ``WEBHOOK_PATH`` with ``{type}`` the
record type (chatbot-node has one route each for product, order and customer events). The body is
``{"event", "data", "timestamp", "id", "shopId"}`` as compact JSON that ``JSON.stringify`` prints back
unchanged (:mod:`chatbot.sync.encoding`): chatbot-node checks the signature over that, not over the
bytes received. The signature, the hex HMAC-SHA256 of the body with ``CHATBOT_WEBHOOK_SECRET``, goes in
``X-EverShop-Signature`` (what chatbot-node reads) and ``X-Webhook-Signature``. A failed attempt is
retried after ``WEBHOOK_RETRY_DELAYS`` seconds as a deferred task that a worker runs when it is due, so
a retry survives a restart and no process waits for it. A backend that cannot defer leaves the
delivery "retrying" for the admin's "send again"; when every attempt has failed the delivery is
"failed" and can be sent again from the admin.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatbot.conf import chatbot_settings
from chatbot.models import WebhookDelivery
from chatbot.sync.client import SyncError, post, webhook_path
from chatbot.sync.encoding import encode
from chatbot.tasks import can_defer, task

logger = logging.getLogger(__name__)

#: Both carry the same signature: chatbot-node reads the first, other receivers the second.
SIGNATURE_HEADERS = ("X-EverShop-Signature", "X-Webhook-Signature")
REFUSED_HINT = "chatbot-node's EVERSHOP_WEBHOOK_SECRET must be the same as CHATBOT_WEBHOOK_SECRET"
EVENTS = (
    "product.created",
    "product.updated",
    "product.deleted",
    "order.created",
    "order.updated",
    "customer.created",
)


def enabled() -> bool:
    """Webhooks are off unless both the service URL and the signing secret are configured."""
    return bool(chatbot_settings.NODE_URL and chatbot_settings.WEBHOOK_SECRET)


def sign(body: bytes, secret: str) -> str:
    if not secret:
        raise ValueError("a webhook secret is required to sign")
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, secret: str) -> bool:
    """For receivers (and tests): constant-time comparison of a received signature."""
    return bool(secret) and hmac.compare_digest(sign(body, secret), signature or "")


def record_event(event: str, data: dict[str, Any]) -> WebhookDelivery | None:
    """Store ``event`` and send it once the current transaction commits; None when webhooks are off."""
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    if not enabled():
        return None
    delivery = WebhookDelivery.objects.create(
        event=event,
        payload={"event": event, "data": data, "timestamp": timezone.now().isoformat()},
    )
    delivery_id = delivery.pk
    transaction.on_commit(lambda: schedule(delivery_id))
    return delivery


def schedule(delivery_id: int, *, delay: float = 0) -> None:
    """Queue the delivery's next attempt, ``delay`` seconds from now where the backend can defer."""
    if delay and can_defer():
        deliver_webhook.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(delivery_id)
    else:
        deliver_webhook.enqueue(delivery_id)


def body_for(delivery: WebhookDelivery) -> bytes:
    payload = {**delivery.payload, "id": str(delivery.public_id), "shopId": chatbot_settings.SHOP_ID}
    return encode(payload)


def attempt(delivery: WebhookDelivery) -> bool:
    """Send the delivery once and record the outcome; True when chatbot-node accepted it."""
    secret = chatbot_settings.WEBHOOK_SECRET
    if not secret:
        raise SyncError("CHATBOT_WEBHOOK_SECRET is not set; refusing to send an unsigned webhook")
    body = body_for(delivery)
    signature = sign(body, secret)
    headers = {
        **dict.fromkeys(SIGNATURE_HEADERS, signature),
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Id": str(delivery.public_id),
    }
    record_type = delivery.event.partition(".")[0]
    delivery.attempts += 1
    try:
        answer = post(webhook_path(record_type), body, headers, refused_hint=REFUSED_HINT)
        delivery.response_status = answer.status
    except SyncError as exc:
        delivery.response_status = exc.upstream_status
        delivery.last_error = exc.detail[:2000]
        delays = list(chatbot_settings.WEBHOOK_RETRY_DELAYS)
        if delivery.attempts <= len(delays):
            delivery.status = WebhookDelivery.Status.RETRYING
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=delays[delivery.attempts - 1])
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        logger.warning("Webhook %s (%s) attempt %d failed: %s", delivery.pk, delivery.event, delivery.attempts, exc)
        _record(delivery)
        return False
    delivery.status = WebhookDelivery.Status.DELIVERED
    delivery.delivered_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.last_error = ""
    _record(delivery)
    return True


_OUTCOME_FIELDS = ("attempts", "response_status", "last_error", "status", "next_attempt_at", "delivered_at")


def _record(delivery: WebhookDelivery) -> None:
    """Store an attempt's outcome. A delivery deleted while it was being sent (``chatbot_purge`` of the
    customer it is about) stays deleted: ``save()`` would insert it again, payload and all. It is then
    marked gone in memory (no primary key), and no retry is scheduled."""
    fields = {name: getattr(delivery, name) for name in _OUTCOME_FIELDS}
    if not WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields, updated=timezone.now()):
        logger.info("Webhook %s was deleted while it was being sent; its outcome is not stored", delivery.pk)
        delivery.pk = None


@task()
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; when it fails, queues the next one to run after the configured delay."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.DELIVERED:
        return "skipped"
    if not attempt(delivery) and delivery.pk is not None and delivery.status == WebhookDelivery.Status.RETRYING:
        assert delivery.next_attempt_at is not None  # set by attempt() whenever it schedules a retry
        if can_defer():
            schedule(delivery.pk, delay=max((delivery.next_attempt_at - timezone.now()).total_seconds(), 1))
        else:
            # Queued now, it would run at once (or inside this very call): the admin sends it again.
            logger.warning("Webhook %s waits for a resend: the task backend cannot defer its retry", delivery.pk)
    return delivery.status
