"""chatbot_purge: removes exactly the conversations asked for, with their messages, and the change
webhooks that carry a purged user's data; deleting a user deletes their chats and those webhooks."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chatbot.models import Conversation, Message, WebhookDelivery
from chatbot.shop import get_shop
from chatbot.sync import webhooks

pytestmark = pytest.mark.django_db


def purge(*args: str) -> str:
    out = StringIO()
    call_command("chatbot_purge", *args, stdout=out)
    return out.getvalue()


def conversation(*, user=None, guest_id: str = "", days_old: int = 0, messages: int = 2) -> Conversation:
    chat = Conversation.objects.create(user=user, guest_id=guest_id)
    for index in range(messages):
        Message.objects.create(conversation=chat, role="user" if index % 2 == 0 else "assistant", text=f"m{index}")
    if days_old:
        Conversation.objects.filter(pk=chat.pk).update(updated=timezone.now() - timedelta(days=days_old))
    return chat


@pytest.fixture
def chats(customers):
    return {
        "alice": conversation(user=customers["alice"]),
        "alice_old": conversation(user=customers["alice"], days_old=400, messages=3),
        "bob": conversation(user=customers["bob"], days_old=40),
        "guest": conversation(guest_id="g-123", days_old=10),
        "other_guest": conversation(guest_id="g-456", days_old=500),
    }


def remaining(chats: dict) -> set[str]:
    ids = set(Conversation.objects.values_list("pk", flat=True))
    return {name for name, chat in chats.items() if chat.pk in ids}


def test_purge_a_user_by_id_and_by_email(chats, customers):
    out = purge("--user", str(customers["alice"].pk))
    assert "Deleted 2 conversations and 5 messages" in out
    assert remaining(chats) == {"bob", "guest", "other_guest"}
    assert not Message.objects.filter(conversation_id__in=[chats["alice"].pk, chats["alice_old"].pk]).exists()
    purge("--user", "BOB@example.com")
    assert remaining(chats) == {"guest", "other_guest"}


def test_purge_a_guest(chats):
    assert "Deleted 1 conversations" in purge("--guest", "g-123")
    assert remaining(chats) == {"alice", "alice_old", "bob", "other_guest"}


def test_purge_by_age_and_combined(chats, customers):
    purge("--older-than", "30", "--user", str(customers["alice"].pk))
    assert remaining(chats) == {"alice", "bob", "guest", "other_guest"}
    purge("--older-than", "30")
    assert remaining(chats) == {"alice", "guest"}


def test_expired_applies_the_retention_period(chats, settings):
    settings.CHATBOT = {**settings.CHATBOT, "RETENTION_DAYS": 365}
    assert "Deleted 2 conversations" in purge("--expired")
    assert remaining(chats) == {"alice", "bob", "guest"}


def test_a_purge_by_age_also_removes_old_finished_webhook_deliveries(chats):
    def delivery(status: str, days_old: int) -> WebhookDelivery:
        row = WebhookDelivery.objects.create(event="customer.created", payload={"email": "a@x.example"}, status=status)
        WebhookDelivery.objects.filter(pk=row.pk).update(created=timezone.now() - timedelta(days=days_old))
        return row

    old_sent, old_failed = delivery("delivered", 60), delivery("failed", 60)
    recent, still_trying = delivery("delivered", 2), delivery("retrying", 60)
    assert ", and 2 finished webhook deliveries" in purge("--older-than", "30", "--dry-run")
    assert WebhookDelivery.objects.count() == 4
    purge("--guest", "g-123", "--older-than", "1")  # one visitor's purge leaves the deliveries alone
    assert WebhookDelivery.objects.count() == 4
    assert ", and 2 finished webhook deliveries" in purge("--older-than", "30")
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {recent.pk, still_trying.pk}
    assert not WebhookDelivery.objects.filter(pk__in=[old_sent.pk, old_failed.pk]).exists()


def test_dry_run_deletes_nothing(chats):
    out = purge("--older-than", "5", "--dry-run")
    assert "Would delete 4 conversations and 9 messages" in out
    assert remaining(chats) == set(chats)


def test_a_criterion_is_required_and_users_must_exist(chats):
    with pytest.raises(CommandError, match="--user, --guest"):
        purge()
    with pytest.raises(CommandError, match="No user"):
        purge("--user", "nobody@example.com")
    with pytest.raises(CommandError, match="not both"):
        purge("--expired", "--older-than", "3")
    assert remaining(chats) == set(chats)


def test_deleting_a_user_deletes_their_chats(chats, customers):
    customers["alice"].delete()
    assert remaining(chats) == {"bob", "guest", "other_guest"}
    assert Message.objects.count() == 6


def test_purge_keeps_what_stream_could_not_delete(chats, settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "STREAM_CHAT_ENABLED": True,
        "STREAM_CHAT_API_KEY": "key",
        "STREAM_CHAT_API_SECRET": "secret",
        # Nothing listens there: Stream is unreachable.
        "STREAM_CHAT_BASE_URL": "http://127.0.0.1:9",
        "STREAM_CHAT_TIMEOUT": 2,
    }
    Conversation.objects.filter(pk=chats["guest"].pk).update(stream_channel_id="shop-guest-g-123")
    with pytest.raises(CommandError, match="Kept 1 conversations"):
        purge("--guest", "g-123")
    # The visitor's words are still in Stream, so the conversation stays for the next try.
    assert remaining(chats) == {"alice", "alice_old", "bob", "guest", "other_guest"}


@pytest.fixture
def deliveries(customers, settings):
    """Change webhooks as the shop records them: Alice's and Bob's accounts and orders, a guest checkout
    with Alice's email, another guest's order and a product."""
    from tests.conftest import _order

    alice, bob, orders = customers["alice"], customers["bob"], customers["orders"]
    alice_as_guest = _order("200004", guest_email="ALICE@example.com")
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET": "secret"}
    shop = get_shop()

    def recorded(event: str, data: dict, status: str = "delivered", days_old: int = 0) -> WebhookDelivery:
        delivery = webhooks.record_event(event, data)
        created = timezone.now() - timedelta(days=days_old)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, created=created)
        return delivery

    return {
        "alice": recorded("customer.created", shop.customer_record(alice), days_old=60),
        "alice_order": recorded("order.created", shop.order_record(orders["alice"]), status="failed"),
        "alice_order_pending": recorded("order.updated", shop.order_record(orders["alice"]), status="pending"),
        "alice_as_guest": recorded("order.updated", shop.order_record(alice_as_guest), status="retrying"),
        "bob": recorded("customer.created", shop.customer_record(bob)),
        # An order's own id may equal Alice's user id: only customer_id names the customer.
        "bob_order": recorded("order.created", {**shop.order_record(orders["bob"]), "id": str(alice.pk)}),
        "guest_order": recorded("order.created", shop.order_record(orders["guest"])),
        "product": recorded("product.deleted", {"id": str(alice.pk), "upc": ""}),
    }


def deliveries_left(deliveries: dict) -> set[str]:
    ids = set(WebhookDelivery.objects.values_list("pk", flat=True))
    return {name for name, delivery in deliveries.items() if delivery.pk in ids}


ALICES_DELIVERIES = {"alice", "alice_order", "alice_order_pending", "alice_as_guest"}


def test_purging_a_user_deletes_the_webhooks_that_carry_their_data(chats, customers, deliveries):
    alice = str(customers["alice"].pk)
    out = purge("--user", alice, "--dry-run")
    assert "Would delete 2 conversations and 5 messages, and 4 webhook deliveries with the user's data" in out
    assert deliveries_left(deliveries) == set(deliveries)
    # Criteria combine: only her webhooks older than 30 days.
    assert ", and 1 webhook deliveries" in purge("--user", alice, "--older-than", "30")
    assert deliveries_left(deliveries) == set(deliveries) - {"alice"}
    # Whatever their status: what has not been sent yet is not sent at all.
    assert ", and 3 webhook deliveries" in purge("--user", "alice@example.com")
    assert deliveries_left(deliveries) == set(deliveries) - ALICES_DELIVERIES
    assert ", and 0 webhook deliveries" in purge("--user", alice)


def test_deleting_a_user_deletes_the_webhooks_that_carry_their_data(customers, deliveries):
    customers["alice"].delete()
    assert deliveries_left(deliveries) == set(deliveries) - ALICES_DELIVERIES
