"""The demo's URLs plus ``/bench/bare``: the cheapest possible Django view behind the same middleware."""

from django.http import JsonResponse
from django.urls import path

from shop_site.urls import urlpatterns as shop_urlpatterns


def bare(request):
    """What any Django JSON POST costs on this server: session, CSRF, auth middleware, a tiny body."""
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *shop_urlpatterns]
