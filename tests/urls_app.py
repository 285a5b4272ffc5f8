"""The URLs of the plain test project (``tests.settings_app``): what the README asks a shop to add."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/chatbot/", include("chatbot.urls")),
]
