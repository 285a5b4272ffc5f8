from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The support chat's API: the second line a shop adds.
    path("api/chatbot/", include("chatbot.urls")),
    # The support chat inbox in Oscar's dashboard (the Django admin has it too).
    path("dashboard/chat/", include("shop_site.dashboard.urls")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]
if settings.DEBUG or settings.SERVE_MEDIA:
    # Product thumbnails are media files; django.conf.urls.static.static() would serve them only under
    # DEBUG, but the demo runs the production server. A production shop sets SERVE_MEDIA off and
    # serves MEDIA_ROOT from its web server or object storage.
    media_prefix = settings.MEDIA_URL.strip("/")
    urlpatterns += [re_path(rf"^{media_prefix}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
