"""The staff inbox, feedback insights and sync status in the Django admin.

The conversation change page is the inbox's conversation view: transcript, the visitor's orders, a
reply box, hand back and close. The changelist, filtered by state, is the inbox itself.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chatbot.models import CannedReply, Conversation, Message, SyncState, WebhookDelivery
from chatbot.staff import actions, inbox, insights, live


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=4000, strip=True
    )


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("visitor", "state", "assigned_to", "handoff_requested_at", "message_count", "updated")
    list_filter = ("state",)
    search_fields = ("user__email", "user__username", "guest_id", "contact_email", "messages__text")
    list_select_related = ("user", "assigned_to")
    ordering = ("-updated", "-id")
    readonly_fields = (
        "public_id",
        "user",
        "guest_id",
        "provider",
        "created",
        "updated",
        "handoff_requested_at",
        "contact_email",
    )
    change_form_template = "admin/chatbot/conversation/inbox_detail.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).annotate(message_count=Count("messages", distinct=True))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("visitor"), ordering="user__email")
    def visitor(self, obj: Conversation) -> str:
        return inbox.visitor_label(obj)

    @admin.display(description=_("messages"), ordering="message_count")
    def message_count(self, obj: Conversation) -> int:
        return getattr(obj, "message_count", 0)

    def get_urls(self) -> list:
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("insights/", self.admin_site.admin_view(self.insights_view), name=f"{prefix}_insights"),
            path("<path:object_id>/live/", self.admin_site.admin_view(self.live_view), name=f"{prefix}_live"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            "title": _("Support chat inbox"),
            **(extra_context or {}),
            "state_tabs": inbox.state_tabs(request.GET.get("state__exact")),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        conversation = get_object_or_404(Conversation.objects.select_related("user", "assigned_to"), pk=object_id)
        if not self.has_view_permission(request, conversation):
            raise PermissionDenied
        can_change = self.has_change_permission(request, conversation)
        form = ReplyForm()
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            done = self._act(request, conversation)
            if done:
                return HttpResponseRedirect(request.path)
            form = ReplyForm(request.POST)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Conversation with %(visitor)s") % {"visitor": inbox.visitor_label(conversation)},
            "detail": inbox.detail(conversation),
            "form": form,
            "can_change": can_change,
            "original": conversation,
            "has_view_permission": True,
            "live_url": reverse(f"{self.admin_site.name}:chatbot_conversation_live", args=[conversation.pk]),
            "canned_replies": inbox.canned_replies(request.user) if can_change else [],
        }
        return TemplateResponse(request, self.change_form_template, {**context, **(extra_context or {})})

    def _act(self, request: HttpRequest, conversation: Conversation) -> bool:
        action = request.POST.get("action", "reply")
        if action == "handback":
            actions.hand_back(conversation, request.user)
            self.message_user(request, _("The assistant answers this visitor again."), messages.SUCCESS)
            return True
        if action == "close":
            actions.close(conversation, request.user)
            self.message_user(request, _("Conversation closed."), messages.SUCCESS)
            return True
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return False
        actions.staff_reply(conversation, request.user, form.cleaned_data["text"])
        self.message_user(request, _("Reply sent."), messages.SUCCESS)
        return True

    def live_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What changed on a conversation's page since ``?after=<message pk>`` (staff-only JSON)."""
        if not object_id.isdigit():
            raise Http404
        conversation = get_object_or_404(Conversation, pk=object_id)
        if not self.has_view_permission(request, conversation):
            raise PermissionDenied
        return live.live_response(conversation, request.GET.get("after"))

    def insights_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = max(1, min(int(request.GET.get("days", 30)), 365))
        except ValueError:
            days = 30
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Chat insights"),
            "insights": insights.compute(days),
            "day_choices": [7, 30, 90, 365],
        }
        return TemplateResponse(request, "admin/chatbot/insights.html", context)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Saved answers for the reply box; adding, changing and deleting them take the usual permissions."""

    list_display = ("title", "short_text", "updated")
    search_fields = ("title", "text")

    @admin.display(description=_("text"))
    def short_text(self, obj: CannedReply) -> str:
        return obj.text[:80]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only list of messages, mostly to find rated answers and their comments."""

    list_display = ("created", "role", "short_text", "status", "rating", "conversation")
    list_filter = ("role", "rating", "status")
    search_fields = ("text", "feedback_comment")
    readonly_fields = [f.name for f in Message._meta.fields]

    @admin.display(description=_("text"))
    def short_text(self, obj: Message) -> str:
        return obj.text[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    """Last ``chatbot_sync`` run per kind of data."""

    list_display = ("kind", "result", "records_sent", "batches_sent", "cursor", "last_success_at", "finished_at")
    readonly_fields = [f.name for f in SyncState._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Change events pushed to chatbot-node; failed ones can be sent again."""

    list_display = ("created", "event", "status", "attempts", "response_status", "short_error", "delivered_at")
    list_filter = ("status", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    @admin.display(description=_("last error"))
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        from chatbot.sync.webhooks import schedule

        ids = list(queryset.exclude(status=WebhookDelivery.Status.DELIVERED).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now()
        )
        for pk in ids:
            schedule(pk)
        self.message_user(request, _("%(n)d deliveries queued.") % {"n": len(ids)}, messages.SUCCESS)
