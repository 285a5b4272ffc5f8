"""The HTTP base every remote provider shares: one session, timeouts, typed errors, and the
lifecycle of a streamed reply, blocking (``requests``) and on the event loop (aiohttp).

A provider describes its request in :meth:`HTTPProvider.stream_request` (an :class:`UpstreamRequest`,
not sent) and maps each upstream event in :meth:`HTTPProvider.map_event`. The base sends the request
(:meth:`~HTTPProvider.open_stream` with ``requests``, :meth:`~HTTPProvider.aopen_stream` with aiohttp),
reads its events (network failures in the middle of a reply become the same typed errors), stops at
the end marker, reads what remains of the body so the connection is reused, and closes it, also when
the visitor stops. Nothing here logs headers or bodies that could carry a token: only the method, the
path and the status.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from chatbot.aio import in_thread
from chatbot.exceptions import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from chatbot.providers.aio_sessions import LoopSessions
from chatbot.providers.base import ChatRequest, Delta, Done, HealthResult, Provider, ProviderEvent, Suggestions
from chatbot.providers.body import AsyncBody, Silence, iter_bytes
from chatbot.providers.sse import SSEEvent, SSEParser, iter_events

logger = logging.getLogger(__name__)

#: How long a health result is reused, so a load balancer polling /health does not call the
#: provider's API on every probe.
HEALTH_CACHE_SECONDS = 30.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def public_url(url: str) -> str:
    """The URL without user:password, fit for logs and ``chatbot_check``."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def set_or_missing(value: Any) -> str:
    return "set" if value else "missing"


#: Upstream connections kept open per provider and host: about the replies one process streams at once.
_POOL_SIZE = 256

#: After a stream's end marker, what may remain of its body (usually only the end of a chunked body,
#: sent with the marker) and how long it may take before the connection is given up instead of kept:
#: the reply's end waits for it.
_DRAIN_EVENTS = 8
_DRAIN_SECONDS = 0.25


@dataclass(frozen=True)
class UpstreamRequest:
    """An HTTP request described, not sent: what both the blocking and the asyncio client send."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    #: The JSON body, or None for none.
    json: Any = None
    #: Query parameters.
    params: dict[str, str] | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass(frozen=True)
class WholeAnswer:
    """A non-streamed answer read whole by the asyncio client (:meth:`HTTPProvider.afetch`)."""

    status: int
    body: bytes
    path: str
    retry_after: str | None = None


@dataclass
class UpstreamReply:
    """One answer streamed from the upstream service, as :meth:`HTTPProvider.map_event` sees it and
    records what the answer ends with. A provider that must remember more while it reads (Coze's chat
    id, OpenAI's tool calls) subclasses it and names it: ``class Acme(HTTPProvider[AcmeReply])``."""

    request: ChatRequest
    #: Set by ``map_event`` when the service says the answer is over (completed, or failed with an
    #: error event). A stream that ends without it, and without an end marker (see
    #: :attr:`HTTPProvider.end_marker_completes`), was cut off and raises ``ProviderUnavailable``.
    finished: bool = False
    usage: dict[str, Any] | None = None
    suggestions: list[str] = field(default_factory=list)
    #: True once some text of the answer was yielded.
    replied: bool = False


ReplyT = TypeVar("ReplyT", bound=UpstreamReply)


class HTTPProvider(Provider, Generic[ReplyT]):
    """A provider that talks HTTP to a remote service and streams its answers.

    The base owns the stream: :meth:`stream` (and :meth:`astream`, for the event loop) makes a
    :meth:`new_reply`, sends the request :meth:`stream_request` describes, hands every event but the
    end marker to :meth:`map_event`, and closes the response however the reply ends. Subclasses
    implement those two (and may override :meth:`stream_refused`, :meth:`is_end`, :meth:`abandoned`
    and :meth:`aabandoned`); a provider that asks several times per reply (tool rounds, a retry with a
    new token) calls :meth:`answer` / :meth:`aanswer` or :meth:`read_stream` / :meth:`aread_stream`
    from its own ``stream`` and ``astream``.

    A provider that overrides :meth:`open_stream` instead of :meth:`stream_request` (sending the
    request itself) still works: its :meth:`astream` then runs :meth:`stream` in a worker thread.
    """

    #: Whether the end marker (``[DONE]``) alone completes an answer; when False, ``map_event`` must
    #: set ``reply.finished`` (Coze ends with "done" even after a chat that never completed).
    end_marker_completes = True

    def __init__(self, options: Any):
        super().__init__(options)
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        self._loop_sessions = LoopSessions()
        self._health: tuple[float, HealthResult] | None = None

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        # Built on first use, never at import: one connection pool per provider instance.
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    session = requests.Session()
                    # requests keeps 10 connections per host; a server streaming more replies than that
                    # opened (and, for HTTPS, handshook) a new connection for every extra reply.
                    adapter = requests.adapters.HTTPAdapter(pool_maxsize=_POOL_SIZE)
                    session.mount("https://", adapter)
                    session.mount("http://", adapter)
                    self._session = session
        return self._session

    @property
    def timeout(self) -> tuple[float, float]:
        return (float(self.options.CONNECT_TIMEOUT), float(self.options.READ_TIMEOUT))

    def send(
        self,
        method: str,
        url: str,
        *,
        check: bool = True,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Make a request; connection problems and (with ``check``) error statuses become typed errors."""
        path = urlsplit(url).path
        try:
            response = self.session.request(method, url, stream=stream, timeout=timeout or self.timeout, **kwargs)
        except requests.Timeout as exc:
            logger.warning("%s: %s %s timed out", self.name, method, path)
            raise ProviderTimeout(f"{method} {path}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            logger.warning("%s: %s %s failed: %s", self.name, method, path, type(exc).__name__)
            raise ProviderUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if check:
            self.raise_for_status(response)
        return response

    def send_request(
        self,
        call: UpstreamRequest,
        *,
        check: bool = True,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """:meth:`send` of a described request."""
        return self.send(
            call.method,
            call.url,
            check=check,
            stream=stream,
            timeout=timeout,
            params=call.params,
            json=call.json,
            headers=call.headers,
        )

    def raise_for_status(self, response: requests.Response) -> None:
        """Close the response and raise the typed error for a non-2xx status."""
        status = response.status_code
        if 200 <= status < 300:
            return
        try:
            detail = self.error_detail(response)
        finally:
            response.close()
        path = urlsplit(response.url or "").path
        raise self.status_error(status, path, detail, response.headers.get("Retry-After"))

    def status_error(self, status: int, path: str, detail: str, retry_after: str | None = None) -> ProviderError:
        """The typed error for a non-2xx ``status`` (logged here, without headers or token)."""
        logger.warning("%s: %s answered %s: %s", self.name, path, status, detail)
        message = f"HTTP {status} from {path}: {detail}"
        if status in (401, 403):
            return ProviderAuthError(message)
        if status == 429:
            return ProviderRateLimited(message, retry_after=parse_retry_after(retry_after))
        if status in (408, 504):
            return ProviderTimeout(message)
        if status >= 500:
            return ProviderUnavailable(message)
        return ProviderError(message)

    def error_detail(self, response: requests.Response) -> str:
        """:meth:`error_text` of a response's body."""
        try:
            body = response.content
        except requests.RequestException:
            return ""
        return self.error_text(body)

    def error_text(self, body: bytes) -> str:
        """A short description of an error body for the logs; subclasses read their own format."""
        return " ".join(body[:300].decode("utf-8", errors="replace").split())

    def read_json(self, response: requests.Response) -> Any:
        """The JSON body of a (non-streaming) response, or ProviderBadResponse."""
        try:
            return json.loads(response.content)
        except requests.Timeout as exc:
            raise ProviderTimeout(f"reading {urlsplit(response.url).path}") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"reading {urlsplit(response.url).path}: {type(exc).__name__}") from exc
        except ValueError as exc:
            raise ProviderBadResponse(f"{urlsplit(response.url).path} sent a body that is not JSON") from exc
        finally:
            response.close()

    @property
    def idle_timeout(self) -> float:
        """Seconds a started stream may go without an event (``STREAM_IDLE_TIMEOUT``); 0: no limit."""
        return max(0.0, float(self.options.STREAM_IDLE_TIMEOUT or 0))

    def events(self, response: requests.Response) -> Iterator[SSEEvent]:
        """The response's SSE events; a read timeout or a dropped connection raises a typed error.

        Once the first event is read, waiting longer than :attr:`idle_timeout` for the next one raises
        :class:`ProviderTimeout`: some services (chatbot-node when Coze answers JSON) announce a reply
        and then send nothing while holding the response open, and the visitor must not wait out the
        whole read timeout. Time the caller spends on an event does not count."""
        silence = Silence(response, self.idle_timeout, self.timeout[1])
        try:
            for event in iter_events(silence.watch(iter_bytes(response))):
                yield event
                silence.restart()
        except (requests.Timeout, ReadTimeoutError, TimeoutError) as exc:
            raise silence.timeout_error() from exc
        except requests.ConnectionError as exc:
            # requests reports a read timeout during iteration as a ConnectionError wrapping urllib3's.
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                raise silence.timeout_error() from exc
            raise ProviderUnavailable(f"the stream was cut: {type(exc).__name__}") from exc
        except (requests.RequestException, ProtocolError, OSError) as exc:
            raise ProviderUnavailable(f"the stream was cut: {type(exc).__name__}") from exc

    def close_stream(self, response: requests.Response, events: Iterator[SSEEvent], *, ended: bool) -> None:
        """Close a streamed response and its ``events``. When the stream ``ended`` (its end marker was
        read) the rest of the body is read first, through the same iterator, so the connection goes
        back to the pool: closed with the end of its body unread, it was thrown away and the next reply
        opened a new one (over HTTPS, a TLS handshake before its first token). A server that does not
        end the body promptly, or sends more than a few events after the end, loses the connection."""
        # A body that ends when the server closes the connection cannot leave a connection to keep.
        kept_alive = getattr(response.raw, "chunked", False) or "content-length" in response.headers
        try:
            if ended and kept_alive and response.headers.get("connection", "").lower() != "close":
                sock = getattr(getattr(response.raw, "connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(_DRAIN_SECONDS)  # urllib3 sets it again when it reuses the connection
                for _ in itertools.islice(events, _DRAIN_EVENTS):
                    pass
        except Exception as exc:  # the reply is complete: a failure here only means the connection is not kept
            logger.debug("%s: the end of a stream was not read (%s); connection closed", self.name, type(exc).__name__)
        finally:
            cast(Generator[Any, None, None], events).close()
            response.close()

    # -- the streamed reply ----------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        return self.answer(self.new_reply(request))

    def new_reply(self, request: ChatRequest) -> ReplyT:
        """The record of one answer; override to make a subclass of :class:`UpstreamReply`."""
        return cast(ReplyT, UpstreamReply(request))

    def stream_request(self, reply: ReplyT) -> UpstreamRequest:
        """The request that streams ``reply``, described, not sent (no network here)."""
        raise NotImplementedError

    def stream_refused(self, reply: ReplyT, status: int, detail: str) -> bool:
        """Called when the stream request is answered with the error ``status``: return True to send
        :meth:`stream_request` again (once; change ``reply`` so it differs), raise a ProviderError of
        the provider's own, or return False for the usual typed error of the status."""
        return False

    @property
    def streams_natively(self) -> bool:
        """Whether :meth:`astream` reads the service with aiohttp: the provider describes its request
        in :meth:`stream_request` rather than sending it itself in :meth:`open_stream`."""
        return type(self).stream_request is not HTTPProvider.stream_request

    def open_stream(self, reply: ReplyT) -> requests.Response:
        """Send :meth:`stream_request` with ``requests`` and return the response (2xx)."""
        retried = False
        while True:
            call = self.stream_request(reply)
            response = self.send_request(call, stream=True, check=False)
            status = response.status_code
            if 200 <= status < 300:
                return response
            try:
                detail = self.error_detail(response)
            finally:
                response.close()
            if retried or not self.stream_refused(reply, status, detail):
                raise self.status_error(status, call.path, detail, response.headers.get("Retry-After"))
            retried = True

    def map_event(self, event: SSEEvent, reply: ReplyT) -> Iterable[ProviderEvent]:
        """The provider events one upstream event means (often none); set ``reply.finished``,
        ``reply.usage`` and ``reply.suggestions`` from it, or raise a ProviderError."""
        raise NotImplementedError

    def is_end(self, event: SSEEvent) -> bool:
        """Whether ``event`` is the stream's end marker; nothing after it is mapped."""
        return event.is_done

    def abandoned(self, reply: ReplyT) -> None:
        """Called after the response is closed when the answer did not finish (the visitor stopped, the
        stream broke); a service that keeps working on an abandoned answer is told to stop here."""

    def answer(self, reply: ReplyT) -> Generator[ProviderEvent, None, None]:
        """One whole answer: its stream, then its suggestions and :class:`Done`."""
        yield from self.read_stream(self.open_stream(reply), reply)
        if reply.suggestions:
            yield Suggestions(reply.suggestions)
        yield Done(usage=reply.usage)

    def read_stream(self, response: requests.Response, reply: ReplyT) -> Generator[ProviderEvent, None, None]:
        """The events ``map_event`` makes of ``response``; the response is closed however this ends,
        and kept for the next request when its end marker was read."""
        events = self.events(response)
        ended = False
        try:
            for event in events:
                if self.is_end(event):
                    ended = True
                    reply.finished = reply.finished or self.end_marker_completes
                    break
                for mapped in self.map_event(event, reply):
                    reply.replied = reply.replied or isinstance(mapped, Delta)
                    yield mapped
            if not reply.finished:
                raise ProviderUnavailable(f"{self.name}: the stream closed before the answer was complete")
        finally:
            self.close_stream(response, events, ended=ended)
            if not reply.finished:
                self.abandoned(reply)

    @staticmethod
    def parse_json(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ProviderBadResponse("an event is not JSON") from exc

    # -- the streamed reply on the event loop (aiohttp) -------------------------------------------

    def client_timeout(self, timeout: tuple[float, float] | None = None) -> aiohttp.ClientTimeout:
        """``CONNECT_TIMEOUT`` to connect, ``READ_TIMEOUT`` for the answer's head and each read after
        it; waiting for one of the pool's connections (all in use) counts as reading."""
        connect, read = timeout or self.timeout
        return aiohttp.ClientTimeout(total=None, connect=connect + read, sock_connect=connect, sock_read=read)

    async def asend(
        self, call: UpstreamRequest, *, timeout: tuple[float, float] | None = None
    ) -> aiohttp.ClientResponse:
        """Send ``call`` with aiohttp; the response, whatever its status, with its body unread.
        Connection problems become the same typed errors as :meth:`send`."""
        try:
            return await self._loop_sessions.get().request(
                call.method,
                call.url,
                params=call.params,
                json=call.json,
                headers=call.headers,
                timeout=self.client_timeout(timeout),
            )
        except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
            logger.warning("%s: %s %s timed out", self.name, call.method, call.path)
            raise ProviderTimeout(f"{call.method} {call.path}: {type(exc).__name__}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            logger.warning("%s: %s %s failed: %s", self.name, call.method, call.path, type(exc).__name__)
            raise ProviderUnavailable(f"{call.method} {call.path}: {type(exc).__name__}") from exc

    async def afetch(
        self, call: UpstreamRequest, *, check: bool = True, timeout: tuple[float, float] | None = None
    ) -> WholeAnswer:
        """Send ``call`` and read its whole (small, not streamed) answer; with ``check`` an error
        status raises its typed error."""
        response = await self.asend(call, timeout=timeout)
        try:
            body = await response.read()
        except TimeoutError as exc:
            raise ProviderTimeout(f"reading {call.path}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderUnavailable(f"reading {call.path}: {type(exc).__name__}") from exc
        finally:
            response.release()
        answer = WholeAnswer(response.status, body, call.path, response.headers.get("Retry-After"))
        if check and not 200 <= answer.status < 300:
            raise self.status_error(answer.status, answer.path, self.error_text(body), answer.retry_after)
        return answer

    def answer_json(self, answer: WholeAnswer) -> Any:
        """The JSON body of :meth:`afetch`'s answer, or ProviderBadResponse."""
        try:
            return json.loads(answer.body)
        except ValueError as exc:
            raise ProviderBadResponse(f"{answer.path} sent a body that is not JSON") from exc

    async def aopen_stream(self, reply: ReplyT) -> aiohttp.ClientResponse:
        """Send :meth:`stream_request` with aiohttp and return the response (2xx), its body unread."""
        retried = False
        while True:
            call = self.stream_request(reply)
            response = await self.asend(call)
            status = response.status
            if 200 <= status < 300:
                return response
            try:
                body = await response.read()
            except (TimeoutError, aiohttp.ClientError, OSError):
                body = b""
            finally:
                response.release()
            detail = self.error_text(body)
            if retried or not self.stream_refused(reply, status, detail):
                raise self.status_error(status, call.path, detail, response.headers.get("Retry-After"))
            retried = True

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        if not self.streams_natively:
            async with aclosing(super().astream(request)) as events:
                async for event in events:
                    yield event
            return
        async with aclosing(self.aanswer(self.new_reply(request))) as answer:
            async for event in answer:
                yield event

    async def aanswer(self, reply: ReplyT) -> AsyncGenerator[ProviderEvent, None]:
        """:meth:`answer` on the event loop: the stream, then its suggestions and :class:`Done`."""
        response = await self.aopen_stream(reply)
        async with aclosing(self.aread_stream(response, reply)) as events:
            async for event in events:
                yield event
        if reply.suggestions:
            yield Suggestions(reply.suggestions)
        yield Done(usage=reply.usage)

    async def aread_stream(
        self, response: aiohttp.ClientResponse, reply: ReplyT
    ) -> AsyncGenerator[ProviderEvent, None]:
        """:meth:`read_stream` on the event loop: the events ``map_event`` makes of ``response``.
        Closing (or cancelling) the generator closes the response at once, unread; after the end
        marker the rest of the body is read (briefly) and the connection goes back to the pool."""
        body = AsyncBody(response, self.idle_timeout, self.timeout[1])
        parser = SSEParser()
        ended = False
        try:
            while not ended:
                try:
                    chunk = await body.read()
                except TimeoutError as exc:
                    raise body.timeout_error() from exc
                except (aiohttp.ClientError, OSError) as exc:
                    raise ProviderUnavailable(f"the stream was cut: {type(exc).__name__}") from exc
                for event in parser.feed(chunk) if chunk else parser.end():
                    if self.is_end(event):
                        ended = True
                        reply.finished = reply.finished or self.end_marker_completes
                        break
                    for mapped in self.map_event(event, reply):
                        reply.replied = reply.replied or isinstance(mapped, Delta)
                        yield mapped
                    body.restart()
                if not chunk:
                    break
            if not reply.finished:
                raise ProviderUnavailable(f"{self.name}: the stream closed before the answer was complete")
        finally:
            body.close()
            kept = False
            try:
                kept = ended and await self._keep_connection(response)
            finally:
                if not kept:
                    response.close()
            if not reply.finished:
                try:
                    await self.aabandoned(reply)
                except Exception as exc:  # the reply's own outcome (an error, a stop) is what counts
                    logger.warning("%s: telling the service to stop failed: %s", self.name, type(exc).__name__)

    async def _keep_connection(self, response: aiohttp.ClientResponse) -> bool:
        # What :meth:`close_stream` does for requests: the end of the body is read, so the connection
        # goes back to the pool, unless it is slow to come or more than a little.
        content = response.content
        try:
            async with asyncio.timeout(_DRAIN_SECONDS):
                for _ in range(_DRAIN_EVENTS):
                    if content.is_eof() or not await content.readany():
                        break
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            logger.debug("%s: the end of a stream was not read (%s); connection closed", self.name, type(exc).__name__)
            return False
        if not content.is_eof():
            return False
        response.release()
        return True

    async def aabandoned(self, reply: ReplyT) -> None:
        """:meth:`abandoned` on the event loop; it must not raise. This default runs a subclass's
        :meth:`abandoned` in a worker thread."""
        if type(self).abandoned is not HTTPProvider.abandoned:
            await in_thread(lambda: self.abandoned(reply))

    # -- health ---------------------------------------------------------------------------------

    def health(self) -> HealthResult:
        now = time.monotonic()
        if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
            return self._health[1]
        result = super().health()
        self._health = (now, result)
        return result

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._loop_sessions.close()

    async def aclose(self) -> None:
        """Close the running event loop's aiohttp session (at the server's shutdown)."""
        await self._loop_sessions.aclose()
