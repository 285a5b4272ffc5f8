"""The storefront's URLs plus one bare page served under a strict Content-Security-Policy."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from shop_site.urls import urlpatterns as shop_urlpatterns

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PAGE = """{% load chatbot %}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strict CSP</title></head><body><h1>A page with a strict Content-Security-Policy</h1>
{% chatbot_widget %}</body></html>"""


def strict_csp_page(request: HttpRequest) -> HttpResponse:
    html = engines["django"].from_string(PAGE).render({}, request)
    response = HttpResponse(html)
    response["Content-Security-Policy"] = STRICT_CSP
    return response


urlpatterns = [path("strict-csp/", strict_csp_page), *shop_urlpatterns]
