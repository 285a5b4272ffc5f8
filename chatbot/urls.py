from django.urls import path

from chatbot.api import views

app_name = "chatbot"

urlpatterns = [
    path("messages", views.MessagesView.as_view(), name="messages"),
    path("messages/<str:message_id>/feedback", views.FeedbackView.as_view(), name="feedback"),
    path("stop", views.StopView.as_view(), name="stop"),
    path("health", views.HealthView.as_view(), name="health"),
]
