"""Inbox and conversation pages in Oscar's dashboard, built on the app's staff actions.

The same permissions as the Django admin's inbox: reading needs ``chatbot.view_conversation``
(transcripts and the visitor's orders), replying, handing back and closing ``chatbot.change_conversation``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from chatbot.admin import ReplyForm
from chatbot.models import Conversation
from chatbot.staff import actions, inbox, live

VIEW = "chatbot.view_conversation"
CHANGE = "chatbot.change_conversation"


def _require(request: HttpRequest, permission: str) -> None:
    # As in the admin, permission to change includes permission to view.
    if not (request.user.has_perm(permission) or request.user.has_perm(CHANGE)):
        raise PermissionDenied


@staff_member_required
def inbox_view(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    state = request.GET.get("state") or None
    page = Paginator(inbox.conversations(state), 50).get_page(request.GET.get("page"))
    rows = [(conversation, inbox.visitor_label(conversation)) for conversation in page]
    context = {"page": page, "rows": rows, "tabs": inbox.state_tabs(state), "state": state}
    return render(request, "oscar/dashboard/chatbot/inbox.html", context)


@staff_member_required
def conversation_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW)
    conversation = get_object_or_404(Conversation.objects.select_related("user", "assigned_to"), pk=pk)
    can_change = request.user.has_perm(CHANGE)
    form = ReplyForm()
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        action = request.POST.get("action", "reply")
        if action == "handback":
            actions.hand_back(conversation, request.user)
            messages.success(request, "The assistant answers this visitor again.")
            return redirect(request.path)
        if action == "close":
            actions.close(conversation, request.user)
            messages.success(request, "Conversation closed.")
            return redirect(request.path)
        form = ReplyForm(request.POST)
        if form.is_valid():
            actions.staff_reply(conversation, request.user, form.cleaned_data["text"])
            messages.success(request, "Reply sent.")
            return redirect(request.path)
    context = {
        "detail": inbox.detail(conversation),
        "form": form,
        "can_change": can_change,
        "live_url": reverse("chat-dashboard:conversation-live", args=[conversation.pk]),
        "canned_replies": inbox.canned_replies(request.user) if can_change else [],
    }
    return render(request, "oscar/dashboard/chatbot/conversation.html", context)


@staff_member_required
def conversation_live_view(request: HttpRequest, pk: int) -> HttpResponse:
    """What changed on a conversation's page since ``?after=<message pk>`` (JSON, same permission)."""
    _require(request, VIEW)
    conversation = get_object_or_404(Conversation, pk=pk)
    return live.live_response(conversation, request.GET.get("after"))
