"""Conversations and their messages. Everything a reply needs lives here, so any web server or worker
can pick up, stop or finish any conversation."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConversationQuerySet(models.QuerySet):
    def for_visitor(self, visitor) -> ConversationQuerySet:
        if visitor.user is not None:
            return self.filter(user=visitor.user)
        return self.filter(user__isnull=True, guest_id=visitor.guest_id)

    def open(self) -> ConversationQuerySet:
        return self.exclude(state=Conversation.State.CLOSED)


class Conversation(models.Model):
    """One visitor's chat with the shop: the assistant, and staff when handed off."""

    class State(models.TextChoices):
        BOT = "bot", _("With the assistant")
        WAITING = "waiting", _("Waiting for staff")
        STAFF = "staff", _("With staff")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chatbot_conversations",
    )
    guest_id = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.BOT, db_index=True)
    provider = models.CharField(max_length=100, blank=True)
    #: The provider's own ids for this conversation (chatbot-node or Coze conversation id...).
    provider_state = models.JSONField(default=dict, blank=True)
    stream_channel_id = models.CharField(max_length=64, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    #: Where a guest waiting for a person wants the reply, given in the widget (``POST handoff``).
    contact_email = models.EmailField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return f"{self.visitor_name} ({self.get_state_display()})"

    @property
    def visitor_name(self) -> str:
        """The customer as staff know them: "Alice Smith <alice@example.com>", else the email; a guest's id.

        Never the username alone when there is more: shops that sign in by email (Oscar) generate it."""
        user = self.user
        if user is None:
            return f"Guest {self.guest_id[:8]}"
        email = getattr(user, "email", "") or ""
        # AbstractBaseUser has no get_full_name(); Django's and Oscar's users do.
        full_name = getattr(user, "get_full_name", None)
        name = full_name().strip() if callable(full_name) else ""
        if name and email:
            return f"{name} <{email}>"
        return name or email or user.get_username()


class Message(models.Model):
    """One message in a conversation. An assistant reply is stored as soon as it starts streaming."""

    class Role(models.TextChoices):
        USER = "user", _("Visitor")
        ASSISTANT = "assistant", _("Assistant")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    class Status(models.TextChoices):
        STREAMING = "streaming", _("Streaming")
        DONE = "done", _("Done")
        ERROR = "error", _("Error")
        STOPPED = "stopped", _("Stopped")

    class Rating(models.TextChoices):
        UP = "up", _("Helpful")
        DOWN = "down", _("Not helpful")

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        #: An acknowledgement or note from the app itself (e.g. "a person will reply"): not rated.
        NOTICE = "notice", _("Notice")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REPLY)
    error_code = models.CharField(max_length=64, blank=True)
    #: Set by ``POST stop`` on any server; the streaming server sees it and ends the reply.
    stop_requested = models.BooleanField(default=False)
    suggestions = models.JSONField(default=list, blank=True)
    products = models.JSONField(default=list, blank=True)
    rating = models.CharField(max_length=8, choices=Rating.choices, blank=True)
    feedback_comment = models.TextField(blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    #: The staff member who wrote a staff message.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: An id from the transport (e.g. the Stream message id), unique per conversation when set.
    external_id = models.CharField(max_length=128, blank=True, db_index=True)
    #: The transport still shows this finished reply as being written (its final update failed); the
    #: next sweep writes the stored final state again.
    transport_unsettled = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [
            models.Index(fields=["conversation", "created"]),
            # The sweep looks for the few unsettled replies on every Stream message: a partial index.
            models.Index(
                fields=["transport_unsettled"],
                condition=models.Q(transport_unsettled=True),
                name="chatbot_message_unsettled",
            ),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"

    def as_dict(self) -> dict:
        data: dict[str, Any] = {
            "id": str(self.public_id),
            "role": self.role,
            "text": self.text,
            "status": self.status,
            "created": self.created.isoformat(),
        }
        if self.role == self.Role.STAFF:
            # The visitor sees a first name, never a username or an email address.
            name = getattr(self.author, "first_name", "") if self.author_id else ""
            if name:
                data["author"] = {"name": name}
        if self.kind == self.Kind.NOTICE:
            data["kind"] = self.kind
        elif self.role == self.Role.ASSISTANT:
            data["rating"] = self.rating or None
            if self.suggestions:
                data["suggestions"] = self.suggestions
            if self.products:
                data["products"] = self.products
            if self.error_code:
                data["error"] = self.error_code
        return data


class CannedReply(models.Model):
    """A saved answer staff insert into the reply box with a click, then edit and send."""

    title = models.CharField(_("title"), max_length=80, unique=True)
    text = models.TextField(_("text"), max_length=4000)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class SyncState(models.Model):
    """Progress and outcome of ``chatbot_sync`` for one kind of data, so a failed run can resume."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("Products")
        ORDERS = "orders", _("Orders")
        CUSTOMERS = "customers", _("Customers")

    class Result(models.TextChoices):
        NEVER = "never", _("Never run")
        RUNNING = "running", _("Running")
        OK = "ok", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=16, choices=Kind.choices, unique=True)
    #: The id of the last record chatbot-node accepted in the current pass; 0 before the first batch.
    cursor = models.BigIntegerField(default=0)
    #: Batches and records accepted in the current (or last) pass.
    batches_sent = models.PositiveIntegerField(default=0)
    records_sent = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.NEVER)
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: The run in progress was last seen alive (started or sent a batch) at this time; while that is
    #: recent, another run of the same kind is refused.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    #: When a pass last reached the end without error.
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("data sync")
        verbose_name_plural = _("data syncs")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_result_display()}"


class WebhookDelivery(models.Model):
    """One change event pushed to chatbot-node, with its delivery attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} ({self.get_status_display()})"
