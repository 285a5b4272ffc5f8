"""The storefront's URLs plus one bare page served under a strict Content-Security-Policy."""

import secrets

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


#: Policies with a nonce per response: the issue's form, then nonces only (no 'self' at all).
NONCE_POLICIES = {
    "self-and-nonce": "script-src 'self' 'nonce-{n}'; style-src 'self' 'nonce-{n}'",
    "nonce-only": "script-src 'nonce-{n}' 'strict-dynamic'; style-src 'nonce-{n}'",
}
NONCE_PAGES = {
    # The nonce given to the tag, and the csp_nonce context variable Django's CSP support provides.
    "argument": PAGE.replace("{% chatbot_widget %}", "{% chatbot_widget nonce=page_nonce %}"),
    "context": PAGE,
}


def nonce_csp_page(request: HttpRequest, policy: str, source: str) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    context = {"page_nonce": nonce} if source == "argument" else {"csp_nonce": nonce}
    html = engines["django"].from_string(NONCE_PAGES[source]).render(context, request)
    response = HttpResponse(html)
    response["Content-Security-Policy"] = (
        NONCE_POLICIES[policy].format(n=nonce)
        + "; default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'"
    )
    return response


urlpatterns = [
    path("strict-csp/", strict_csp_page),
    path("csp/<str:policy>/<str:source>/", nonce_csp_page),
    *shop_urlpatterns,
]
