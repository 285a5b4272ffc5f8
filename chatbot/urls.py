from django.urls import path

from chatbot.api import handoff_views, stream_views, views
from chatbot.api.schema import SchemaView
from chatbot.webhooks.stream import stream_webhook

app_name = "chatbot"

urlpatterns = [
    path("messages", views.MessagesView.as_view(), name="messages"),
    path("messages/<str:message_id>/feedback", views.FeedbackView.as_view(), name="feedback"),
    path("handoff", handoff_views.HandoffView.as_view(), name="handoff"),
    path("stop", views.StopView.as_view(), name="stop"),
    path("health", views.HealthView.as_view(), name="health"),
    path("schema", SchemaView.as_view(), name="schema"),
    path("stream-chat-token", stream_views.StreamTokenView.as_view(), name="stream-chat-token"),
    path("stream-message", stream_views.StreamMessageView.as_view(), name="stream-message"),
    path("webhooks/stream", stream_webhook, name="stream-webhook"),
]
