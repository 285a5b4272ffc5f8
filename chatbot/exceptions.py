"""One exception tree for everything that can go wrong between a visitor and a reply.

Each error has a stable ``code`` (sent to the widget) and a plain-words ``message`` a visitor can read.
Technical detail goes in ``detail`` for the logs only; it never reaches the browser.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class ChatbotError(Exception):
    """Base of every error the app raises on purpose."""

    code = "error"
    default_message = _("Something went wrong. Please try again.")
    status = 500

    def __init__(self, detail: str = "", *, message: str | None = None):
        super().__init__(detail or str(self.default_message))
        self.detail = detail
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message or self.default_message)


class ChatbotConfigurationError(ChatbotError, ImproperlyConfigured):
    """The settings do not describe a working setup (system checks name the details)."""

    code = "misconfigured"
    default_message = _("The chat assistant is not configured correctly.")


class ProviderError(ChatbotError):
    """An AI provider could not produce (the rest of) a reply."""

    code = "upstream_error"
    default_message = _("The assistant could not answer just now. Please try again.")
    status = 502
    retryable = True


class ProviderAuthError(ProviderError):
    code = "upstream_auth"
    default_message = _("The assistant is not available right now (authorisation failed).")
    retryable = False


class ProviderRateLimited(ProviderError):
    code = "upstream_rate_limited"
    default_message = _("The assistant is busy right now. Please try again in a moment.")

    def __init__(self, detail: str = "", *, retry_after: float | None = None, message: str | None = None):
        super().__init__(detail, message=message)
        self.retry_after = retry_after


class ProviderBusy(ProviderError):
    """The provider is still answering an earlier message in this conversation."""

    code = "upstream_busy"
    default_message = _("Still working on your previous message. Please wait a moment.")


class ProviderUnavailable(ProviderError):
    code = "upstream_unavailable"
    default_message = _("The assistant is unavailable right now. Please try again later.")


class ProviderTimeout(ProviderError):
    code = "upstream_timeout"
    default_message = _("The assistant took too long to answer. Please try again.")
    status = 504


class ProviderBadResponse(ProviderError):
    code = "upstream_bad_response"
    default_message = _("The assistant sent an answer we could not read. Please try again.")


class ShopError(ChatbotError):
    """The shop adapter failed; the assistant says so instead of guessing."""

    code = "shop_error"
    default_message = _("The shop's catalogue could not be read just now.")


class ServiceUnavailable(ChatbotError):
    """The database or the cache the chat depends on did not answer; worth trying again shortly."""

    code = "unavailable"
    default_message = _("The chat is briefly unavailable. Please try again in a moment.")
    status = 503
    #: Seconds a client should wait before trying again (``Retry-After``).
    retry_after = 2
