"""Deleting conversations for privacy: one visitor's, or everything older than a number of days.

Messages go with their conversation (CASCADE). What the chosen transport holds of each conversation
(its Stream channel) is deleted first, through :meth:`chatbot.transports.base.Transport.forget`. The change
webhooks whose payloads carry a customer's data go with that customer (:func:`user_deliveries`), or
with age once they are finished (:func:`old_deliveries`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from chatbot.exceptions import ChatbotError
from chatbot.models import Conversation, Message, WebhookDelivery
from chatbot.transports import get_transport

logger = logging.getLogger(__name__)

#: Change webhooks whose ``data`` is an order: ``customer_id`` and ``email`` name its customer.
ORDER_EVENTS = ("order.created", "order.updated")


@dataclass
class PurgeResult:
    conversations: int
    messages: int
    channels: int
    dry_run: bool
    #: Conversations kept because Stream could not delete their channel: run the purge again.
    kept: int = 0


def find_user(value: str) -> Any:
    """A user by primary key or email (case-insensitive); None when there is no such user."""
    User = get_user_model()
    value = value.strip()
    if value.isdigit():
        return User.objects.filter(pk=int(value)).first()
    matches = list(User.objects.filter(email__iexact=value)[:2])
    if len(matches) > 1:
        raise ValueError(f"More than one user has the email {value!r}; give the user id instead.")
    return matches[0] if matches else None


def select(
    *, user: Any = None, guest_id: str = "", older_than_days: int | None = None, now: Any = None
) -> QuerySet[Conversation]:
    """Conversations matching every given criterion; at least one is required."""
    if user is None and not guest_id and older_than_days is None:
        raise ValueError("Say whose conversations to purge, or how old they must be.")
    condition = Q()
    if user is not None:
        condition &= Q(user=user)
    if guest_id:
        condition &= Q(user__isnull=True, guest_id=guest_id)
    if older_than_days is not None:
        # Age is measured from the last activity, so a long-running conversation is not cut short.
        cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
        condition &= Q(updated__lt=cutoff)
    return Conversation.objects.filter(condition)


def forget_deleted_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete`` of a user: their conversations go with them (the foreign key cascades), and once
    the deletion is committed the transport forgets them too (their Stream channels, in the background).
    The change webhooks that carry their data are deleted with them, in the same transaction."""
    user_deliveries(instance).delete()
    get_transport().forget_user(instance)


def old_deliveries(older_than_days: int, now: Any = None) -> QuerySet[WebhookDelivery]:
    """Finished change webhooks (delivered, or failed for good) created more than that many days ago.
    Their payloads hold customers' and orders' data, so they age out with the conversations."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    finished = [WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED]
    return WebhookDelivery.objects.filter(created__lt=cutoff, status__in=finished)


def user_deliveries(user: Any, *, older_than_days: int | None = None, now: Any = None) -> QuerySet[WebhookDelivery]:
    """Change webhooks that carry this user's data, whatever their status: their ``customer.created``
    event (``data.id`` is the user's id), and the order events of their orders (``data.customer_id``)
    or of orders placed with their email address (``data.email``, any case; a guest checkout).

    Pending and retrying deliveries go too: the customer asked to be forgotten, so what has not reached
    chatbot-node yet is not sent at all, and a delivery sent later would keep their data here as well.
    """
    user_id = str(user.pk)
    about_user = Q(event="customer.created", payload__data__id=user_id) | Q(
        event__in=ORDER_EVENTS, payload__data__customer_id=user_id
    )
    email = getattr(user, "email", "") or ""
    if email:
        about_user |= Q(event__in=("customer.created", *ORDER_EVENTS), payload__data__email__iexact=email)
    deliveries = WebhookDelivery.objects.filter(about_user)
    if older_than_days is not None:
        deliveries = deliveries.filter(created__lt=(now or timezone.now()) - timedelta(days=older_than_days))
    return deliveries


def delete_deliveries(deliveries: QuerySet[WebhookDelivery], *, dry_run: bool = False) -> int:
    """Delete the deliveries (count them on a dry run); how many."""
    if dry_run:
        return deliveries.count()
    return deliveries.delete()[0]


def purge(conversations: QuerySet[Conversation], *, dry_run: bool = False) -> PurgeResult:
    ids = list(conversations.values_list("pk", flat=True))
    messages = Message.objects.filter(conversation_id__in=ids).count()
    channels = 0
    if dry_run:
        channels = Conversation.objects.filter(pk__in=ids).exclude(stream_channel_id="").count()
        return PurgeResult(len(ids), messages, channels, True)
    transport = get_transport()
    kept: list[int] = []
    for conversation in Conversation.objects.filter(pk__in=ids).iterator():
        try:
            forgotten = transport.forget(conversation)
        except ChatbotError as exc:
            # Deleting only here would leave the visitor's words in Stream with nothing pointing at
            # them: keep the conversation so the next purge tries again.
            logger.warning("Purge kept conversation %s: Stream did not delete it (%s)", conversation.pk, exc.code)
            kept.append(conversation.pk)
            continue
        channels += forgotten
    deleted = sorted(set(ids) - set(kept))
    messages = Message.objects.filter(conversation_id__in=deleted).count()
    Conversation.objects.filter(pk__in=deleted).delete()
    return PurgeResult(len(deleted), messages, channels, False, kept=len(kept))
