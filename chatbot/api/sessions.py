"""The session a chat request changed, saved by the chat view itself.

Django's session middleware saves a changed session (a first-time visitor's new guest id) after the
view has returned. A database error there is out of the API's reach: the visitor got the server's
HTML error page, and a reply already stored for them was never answered. The chat views save it
within their own error handling, on a new connection once if the first was lost, and the middleware
finds nothing left to save. (A project with ``SESSION_SAVE_EVERY_REQUEST`` still has it saved again.)
"""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie

from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

from chatbot.connections import CONNECTION_ERRORS
from chatbot.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)


def save_session(request: HttpRequest, *, again: bool = False) -> SimpleCookie:
    """Save the session if this request changed it; returns the cookies the response must carry.

    ``again``: an earlier attempt lost its connection, possibly between choosing a new session key
    and storing it, so the data goes under a new key."""
    session = getattr(request, "session", None)
    if session is None or not session.modified or session.is_empty():
        return SimpleCookie()
    if again:
        session.cycle_key()
    carrier = HttpResponse()
    try:
        # The middleware's own code: the same expiry, cookie attributes and Vary as every other page.
        SessionMiddleware(lambda request: carrier).process_response(request, carrier)
    except SessionInterrupted as exc:
        # The database session store reports any failed update as an interrupted session.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, CONNECTION_ERRORS):
            cause = cause.__context__
        if cause is None:
            raise
        raise cause from exc
    except CONNECTION_ERRORS:
        raise
    except Exception as exc:  # the store's own service: a cache in front of the database, a file system
        logger.warning("The session could not be saved: %s", type(exc).__name__)
        raise ServiceUnavailable("session store unavailable") from exc
    session.modified = False
    return carrier.cookies
