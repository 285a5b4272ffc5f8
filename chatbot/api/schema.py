"""The OpenAPI schema of the chat API, served at ``schema`` next to the endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions

from chatbot import __version__
from chatbot.conf import chatbot_settings


def only_chatbot_endpoints(endpoints: list, **kwargs: Any) -> list:
    """Leave the host project's other DRF views out of this app's schema."""
    return [
        (path, regex, method, view)
        for path, regex, method, view in endpoints
        if view.__module__.startswith("chatbot.") and isinstance(getattr(view.cls, "schema", None), AutoSchema)
    ]


class SchemaView(SpectacularAPIView):
    serve_public = True
    custom_settings = {
        "TITLE": "django-shop-chatbot API",
        "DESCRIPTION": "The support chat's HTTP API. Browser POSTs send JSON, the session cookie and X-CSRFToken.",
        "VERSION": __version__,
        "PREPROCESSING_HOOKS": ["chatbot.api.schema.only_chatbot_endpoints"],
        "COMPONENT_SPLIT_REQUEST": True,
    }

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        if not chatbot_settings.ENABLED:
            raise exceptions.NotFound()
        super().initial(request, *args, **kwargs)


class SessionUserScheme(OpenApiAuthenticationExtension):
    target_class = "chatbot.api.views.SessionUser"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
