"""Every API error is ``{"error": {"code", "message"}}`` with the app's own translated message."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from chatbot.connections import CONNECTION_ERRORS
from chatbot.exceptions import ChatbotError, ServiceUnavailable

logger = logging.getLogger(__name__)


class MessageTooLong(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "message_too_long"
    default_detail = _("That message is too long. Please shorten it and send it again.")


class BadInput(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = _("That request could not be understood.")


class TooManyStreams(exceptions.Throttled):
    """The visitor or their address has as many replies streaming as ``MAX_STREAMS_PER_*`` allow."""

    default_code = "too_many_streams"


_MESSAGES: dict[type, tuple[str, Any]] = {
    # Before Throttled, which it is.
    TooManyStreams: ("too_many_streams", _("You have too many answers in progress. Please wait for one to finish.")),
    exceptions.ParseError: ("malformed_json", _("The request body is not valid JSON.")),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", _("Send the request as application/json.")),
    exceptions.NotAuthenticated: ("forbidden", _("You are not allowed to do that.")),
    exceptions.AuthenticationFailed: ("forbidden", _("You are not allowed to do that.")),
    exceptions.PermissionDenied: ("forbidden", _("You are not allowed to do that.")),
    exceptions.NotFound: ("not_found", _("Not found.")),
    exceptions.MethodNotAllowed: ("method_not_allowed", _("That method is not allowed here.")),
    exceptions.Throttled: ("rate_limited", _("You are sending messages too quickly. Please wait a moment.")),
}


def chatbot_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, CONNECTION_ERRORS):
        # The database went away (a failover, terminated connections): a moment's outage, not a bug.
        logger.warning("Chat API in %s lost its database connection: %s", type(context.get("view")).__name__, exc)
        set_rollback()
        exc = ServiceUnavailable()
    if isinstance(exc, ChatbotError):
        return chatbot_error_response(exc)
    if not isinstance(exc, exceptions.APIException):
        # A fault of ours, not of the request: still the API's format, with the traceback in the log.
        logger.error("Chat API error in %s", type(context.get("view")).__name__, exc_info=exc)
        set_rollback()
        unexpected = ChatbotError()
        return Response({"error": {"code": unexpected.code, "message": unexpected.message}}, status=500)
    message: Any
    if isinstance(exc, MessageTooLong | BadInput):
        detail = cast(exceptions.ErrorDetail, exc.detail)
        code, message = detail.code, str(detail)
    elif isinstance(exc, exceptions.ValidationError):
        code, message = "invalid", _first_message(exc.detail)
    else:
        code, message = next((known for cls, known in _MESSAGES.items() if isinstance(exc, cls)), ("error", exc.detail))
    if getattr(exc, "csrf", False):
        code, message = "csrf_failed", _("Your session expired. Reload the page and try again.")
    headers = {"Retry-After": str(int(exc.wait) + 1)} if getattr(exc, "wait", None) else {}  # type: ignore[attr-defined]
    body = {"error": {"code": code, "message": str(message)}}
    return Response(body, status=exc.status_code, headers=headers)


def chatbot_error_response(exc: ChatbotError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ServiceUnavailable) else {}
    return Response({"error": {"code": exc.code, "message": exc.message}}, status=exc.status, headers=headers)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for field_name, value in detail.items():
            text = _first_message(value)
            return text if field_name == "non_field_errors" else f"{field_name}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)
