"""The demo's URLs plus two reference views behind the same middleware as the chat API.

* ``/bench/bare``: the cheapest possible Django JSON POST (no session read, no query).
* ``/bench/bare-session``: the same plus reading the visitor's session, as anything that knows who
  is asking must.
* ``/bench/bare-write``: the least a stored chat message needs: the visitor's session read and two rows
  (question and answer) written in one transaction, into a scratch table.
"""

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path

from shop_site.urls import urlpatterns as shop_urlpatterns

_TABLE_READY = False


def bare(request):
    """What any Django JSON POST costs on this server: CSRF, the middleware, a tiny body."""
    return JsonResponse({"ok": True})


def _session_key(request) -> str:
    key = request.session.get("bench")
    if key is None:  # the visitor's first request (untimed) makes their session
        key = request.session["bench"] = "visitor"
    return key


def bare_session(request):
    return JsonResponse({"ok": True, "visitor": _session_key(request)})


def bare_write(request):
    global _TABLE_READY
    key = _session_key(request)
    with connection.cursor() as cursor:
        if not _TABLE_READY:
            cursor.execute("CREATE TABLE IF NOT EXISTS bench_note (id bigserial PRIMARY KEY, body text NOT NULL)")
            _TABLE_READY = True
        with transaction.atomic():
            cursor.execute("INSERT INTO bench_note (body) VALUES (%s), (%s)", [f"{key} hello", "ok"])
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare", bare),
    path("bench/bare-session", bare_session),
    path("bench/bare-write", bare_write),
    *shop_urlpatterns,
]
