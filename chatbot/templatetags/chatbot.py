"""``{% chatbot_widget %}``: the chat launcher and its configuration, for any Django page.

The tag renders a launcher button, a small JSON configuration block and one deferred script
(``loader.js``); the chat UI itself is fetched only when the visitor wants it. Rendering makes no
database query and no network call: it reads settings, reverses URLs and makes sure the CSRF cookie
will be set, nothing else. In particular it never touches ``request.user`` or ``request.session``,
which would cost a query on every page of the shop.
"""

from __future__ import annotations

import logging
import re
import uuid
from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.language import CHINESE, is_chinese
from chatbot.shop import get_shop
from chatbot.transports import get_transport
from chatbot.transports.base import Transport

register = template.Library()
logger = logging.getLogger(__name__)

_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_PLACEHOLDER_ID = uuid.UUID(int=0)
DEFAULT_COLOR = "#2563eb"


@lru_cache(maxsize=8)
def _has_static(path: str) -> bool:
    # Looked up once per process: a file system check, never on every page.
    return finders.find(path) is not None


def widget_mode() -> str:
    """The chosen transport's mode: ``builtin`` or ``stream``."""
    return get_transport().widget_mode


def _url(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(f"chatbot:{name}", kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _endpoints(transport: Transport) -> dict[str, str]:
    # The builtin endpoints are always there: the widget falls back on them while another
    # transport's client is not available.
    endpoints = {
        "messages": _url("messages"),
        "stop": _url("stop"),
        "handoff": _url("handoff"),
        "feedback": None,
    }
    feedback = _url("feedback", message_id=_PLACEHOLDER_ID)
    if feedback:
        endpoints["feedback"] = feedback.replace(str(_PLACEHOLDER_ID), "{id}")
    for key, name in transport.widget_endpoints.items():
        endpoints[key] = _url(name)
    return {key: value for key, value in endpoints.items() if value}


def _csrf_header() -> str:
    # CSRF_HEADER_NAME is the WSGI environ key ("HTTP_X_CSRFTOKEN"); the browser sends "X-CSRFToken".
    name = settings.CSRF_HEADER_NAME
    if name.startswith("HTTP_"):
        name = name[5:]
    return "X-CSRFToken" if name == "X_CSRFTOKEN" else name.replace("_", "-")


def readable_on(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (WCAG relative luminance)."""
    hex_digits = color.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Contrast with white is (1.05 / (L + 0.05)), with black ((L + 0.05) / 0.05): pick the larger.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#111827"


def _configured(value: Any, default: str) -> str:
    # A shop's own wording is passed through gettext too, so a project catalogue can translate it.
    return _(value) if value else default


def widget_strings(widget: dict[str, Any]) -> dict[str, str]:
    """Every string the widget shows, translated into the active language."""
    return {
        "label": _configured(widget.get("label"), _("Chat with us")),
        "title": _configured(widget.get("title"), _("Shop assistant")),
        "greeting": _configured(
            widget.get("greeting"),
            _("Hi! Ask me about products, stock, prices, shipping or your order."),
        ),
        "close": _("Close chat"),
        "input": _("Your message"),
        "placeholder": _("Type your question…"),
        "send": _("Send"),
        "stop": _("Stop"),
        "stopLabel": _("Stop the reply"),
        "stopped": _("Reply stopped."),
        "thinking": _("Thinking…"),
        "you": _("You"),
        "assistant": _("Assistant"),
        "staff": _("Support team"),
        "handoff": _("Talk to a human"),
        # Sent as the visitor's message; the server recognises it in either language.
        "handoffText": _("talk to a human"),
        "suggestions": _("Suggested questions"),
        "helpful": _("Helpful"),
        "notHelpful": _("Not helpful"),
        "thanks": _("Thanks for your feedback."),
        "retry": _("Try again"),
        "unread": _("Unread messages: %(count)s"),
        "inStock": _("In stock"),
        "outOfStock": _("Out of stock"),
        "products": _("Products"),
        # Card buttons; screen readers hear the product's title after the word.
        "view": _("View"),
        "addToBasket": _("Add to basket"),
        "newWindow": _("(opens in a new tab)"),
        "errorGeneric": _("Something went wrong. Please try again."),
        "errorNetwork": _("The chat could not reach the shop. Check your connection and try again."),
        "errorRate": _("You are sending messages too quickly. Please wait a moment and try again."),
        "errorTooLong": _("Your message is too long. Please shorten it and send it again."),
        "errorUpstream": _("The assistant could not answer just now. Please try again."),
        "errorSession": _("Your session has expired. Please reload the page and try again."),
        "errorLoad": _("The chat could not be loaded. Please try again."),
        "notSent": _("Your message was not sent. It is back in the box."),
        "disclaimer": _("Answers are written by an AI assistant and may contain mistakes."),
    }


#: The language the assistant switches to when a visitor writes it on a page in another language.
VISITOR_LANGUAGE = CHINESE
#: What the widget relabels when it switches; the error texts stay in the page's language (errors
#: from the server already come in it), which keeps the page's markup within its budget.
_SWITCHED = (
    "label",
    "title",
    "close",
    "input",
    "placeholder",
    "send",
    "stop",
    "stopLabel",
    "stopped",
    "thinking",
    "you",
    "assistant",
    "staff",
    "handoff",
    "handoffText",
    "suggestions",
    "helpful",
    "notHelpful",
    "thanks",
    "retry",
    "unread",
    "inStock",
    "outOfStock",
    "products",
    "view",
    "addToBasket",
    "newWindow",
    "disclaimer",
)


def _translations(widget: dict[str, Any], language: str) -> dict[str, dict[str, str]]:
    """The labels in the language a visitor may write in instead of the page's.

    The assistant answers a Chinese question in Chinese on any page; with these the widget's own
    labels follow it in the browser, without another request."""
    if is_chinese(language):
        return {}
    with override(VISITOR_LANGUAGE):
        strings = widget_strings(widget)
    return {VISITOR_LANGUAGE: {key: strings[key] for key in _SWITCHED}}


def _basket() -> dict[str, str]:
    """Where a product card's "Add to basket" posts (``ShopAdapter.add_to_basket_url``); without one
    the cards show "View" only."""
    try:
        add = get_shop().add_to_basket_url()
    except ChatbotConfigurationError:
        # A broken adapter setting is a system check error; the page itself still renders.
        return {}
    return {"add": add} if add and "{id}" in add else {}


def _suggestions(widget: dict[str, Any]) -> list[str]:
    configured = widget.get("suggestions")
    if configured is None or configured is False:
        return []
    if configured:
        return [_(str(item)) for item in configured][:6]
    # Questions every shop can answer; a shop sets its own in WIDGET["suggestions"].
    return [
        _("What are your delivery options?"),
        _("What is your returns policy?"),
        _("Where is my order?"),
    ]


def widget_config(request) -> dict[str, Any]:
    """The JSON the loader and the chat UI read: endpoints, CSRF token, mode, strings and theme."""
    conf = chatbot_settings
    widget = conf.WIDGET
    transport = get_transport()
    color = str(widget.get("theme_color") or "")
    color = color if _HEX_COLOR.match(color) else DEFAULT_COLOR
    scheme = widget.get("color_scheme")
    language = get_language() or settings.LANGUAGE_CODE
    assets = {"js": static("chatbot/chat.js"), "css": static("chatbot/chat.css")}
    for key, path in transport.widget_assets.items():
        # Loaded by chat.js only in that mode; without it the widget uses the builtin transport.
        if _has_static(path):
            assets[key] = static(path)
    return {
        "version": 1,
        "mode": transport.widget_mode,
        "endpoints": _endpoints(transport),
        "assets": assets,
        "csrfToken": get_token(request),
        "csrfHeader": _csrf_header(),
        "csrfCookie": None if settings.CSRF_USE_SESSIONS else settings.CSRF_COOKIE_NAME,
        "maxLength": conf.MAX_MESSAGE_LENGTH,
        "language": language,
        "theme": {
            # Only a hex colour reaches the page's CSS: the value is set through the CSSOM.
            "color": color,
            "onColor": readable_on(color),
            "position": "left" if widget.get("position") == "left" else "right",
            "scheme": scheme if scheme in {"light", "dark"} else "auto",
            # The label written beside the launcher's icon, not only its accessible name.
            "showLabel": bool(widget.get("show_label")),
        },
        "suggestions": _suggestions(widget),
        "basket": _basket(),
        "strings": widget_strings(widget),
        "translations": _translations(widget, language),
    }


def _nonce(context: template.Context, request: Any, given: str | None) -> str:
    # A page under a Content-Security-Policy with nonces: the one given to the tag, else the one Django's
    # CSP support (the csp_nonce context variable) or django-csp (request.csp_nonce) made for the page.
    for candidate in (given, context.get("csp_nonce"), getattr(request, "csp_nonce", None)):
        if candidate:
            return str(candidate)
    return ""


@register.simple_tag(takes_context=True)
def chatbot_widget(context: template.Context, nonce: str | None = None) -> str:
    """The launcher, its configuration and the loader script; nothing when the app is disabled.

    ``{% chatbot_widget nonce=my_nonce %}`` puts the page's CSP nonce on the script and stylesheet
    elements (the loader passes it on to what it loads); found by itself under Django's or django-csp's
    CSP middleware. The widget has no inline script or style either way."""
    if not chatbot_settings.ENABLED:
        return ""
    request = context.get("request")
    if request is None:
        logger.warning(
            "{% chatbot_widget %} needs the request in the template context; "
            "add django.template.context_processors.request to your TEMPLATES."
        )
        return ""
    config = widget_config(request)
    return render_to_string(
        "chatbot/widget.html",
        {
            "config": config,
            "strings": config["strings"],
            "theme": config["theme"],
            "nonce": _nonce(context, request, nonce),
        },
    )
