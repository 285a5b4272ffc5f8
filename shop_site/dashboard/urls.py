from django.urls import path

from shop_site.dashboard import views

app_name = "chat-dashboard"

urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("<int:pk>/", views.conversation_view, name="conversation"),
    path("<int:pk>/live/", views.conversation_live_view, name="conversation-live"),
]
