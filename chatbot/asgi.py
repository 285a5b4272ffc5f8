"""An ASGI application for a shop whose pages are synchronous Django views and whose chat replies
stream: pages are served the way a threaded WSGI server serves them, and replies on the event loop.

Django's own ASGI handler runs a synchronous site by hopping between the event loop and threads for
every synchronous middleware and view: measured on the demo shop, a simple view answered 3.7 times fewer
requests per second than under gunicorn's threads, and a catalogue page 30 % fewer (BENCHMARKS.md,
"Storefront pages"). Here each request makes one trip to a thread, where Django's WSGI handler runs it
whole (middleware, view, persistent database connection, as under gunicorn gthread), and the response
comes back to the loop. A response whose content is asynchronous (a chat reply, :mod:`chatbot.arelay`)
is streamed on the loop with no thread at all; when the visitor disconnects it is cancelled, which ends
the provider's request and stores the reply as stopped.

In the project's ``asgi.py``::

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from chatbot.asgi import asgi_application
    application = asgi_application()

and serve it with an ASGI server, e.g. ``gunicorn mysite.asgi:application -k uvicorn_worker.UvicornWorker``.
``WEB_THREADS`` (default 32) sets the threads per process for synchronous requests; replies do not
use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Set in the WSGI environ of requests this application serves, to the event loop that serves them: a
#: streaming reply may then be an asynchronous iterator, which the application streams on that loop, and
#: work that outlives the request (a reply written into Stream) may run there (:func:`request_loop`).
ON_LOOP = "chatbot.asgi.loop"

_DEFAULT_THREADS = 32

#: The interpreter's thread switch interval in a process that serves pages on threads and replies on
#: the loop. At Python's 5 ms a thread busy with a page holds the loop, and the next piece of every
#: reply, for up to that long; at 1 ms the p99 first-token overhead at 200 conversations was halved
#: (222 to 114 ms, same session; BENCHMARKS.md), at no measurable cost in CPU per message.
SWITCH_INTERVAL = 0.001


def streams_on_loop(request: HttpRequest) -> bool:
    """Whether a response to ``request`` may stream from an asynchronous iterator on an event loop:
    under Django's ASGI handler, or under :func:`asgi_application`."""
    from django.core.handlers.asgi import ASGIRequest

    return isinstance(request, ASGIRequest) or bool(request.META.get(ON_LOOP))


def request_loop(request: HttpRequest) -> asyncio.AbstractEventLoop | None:
    """The event loop serving ``request`` when :func:`asgi_application` serves it (the view itself runs
    in a thread: schedule with ``asyncio.run_coroutine_threadsafe``), else None."""
    loop = request.META.get(ON_LOOP)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


def asgi_application(
    wsgi_application: Callable[..., Any] | None = None,
    *,
    threads: int | None = None,
    switch_interval: float | None = SWITCH_INTERVAL,
) -> SiteOnThreads:
    """The ASGI application for a Django site (its WSGI application, set up here when not given).
    ``switch_interval`` sets the process's ``sys.setswitchinterval`` (None leaves it as it is)."""
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    if wsgi_application is None:
        import django

        django.setup(set_prefix=False)
        wsgi_application = WSGIHandler()
    if threads is None:
        threads = int(os.environ.get("WEB_THREADS") or _DEFAULT_THREADS)
    return SiteOnThreads(wsgi_application, threads=threads)


class SiteOnThreads:
    def __init__(self, wsgi_application: Callable[..., Any], *, threads: int) -> None:
        self.wsgi = wsgi_application
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        # Made in the server's worker process, after a fork.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="site")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _let_go()
                if self._executor is not None:
                    self._executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            return  # the client left before its request was whole
        loop = asyncio.get_running_loop()
        environ = _environ(scope, body, loop)
        try:
            status, headers, result, content = await loop.run_in_executor(self.executor, self._serve, environ)
        finally:
            body.close()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if content is not None:
            await send({"type": "http.response.body", "body": content, "more_body": False})
            return
        try:
            if getattr(result, "is_async", False):
                await _stream_until_disconnect(result, receive, send)
            else:
                await self._stream_in_threads(result, send)
        finally:
            # Closing sends request_finished (database connections) and settles a reply never started.
            closing = getattr(result, "close", None)
            if closing is not None:
                await loop.run_in_executor(self.executor, closing)

    def _serve(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], Any, bytes | None]:
        """Run the request through Django in this thread; a response that is not streaming is read and
        closed here too, so an ordinary page costs one trip to a thread."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        result = self.wsgi(environ, start_response)
        status, headers = started
        encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        if getattr(result, "streaming", False):
            return int(status.split(" ", 1)[0]), encoded, result, None
        try:
            content = b"".join(result)
        finally:
            closing = getattr(result, "close", None)
            if closing is not None:
                closing()
        return int(status.split(" ", 1)[0]), encoded, None, content

    async def _stream_in_threads(self, result: Iterable[bytes], send: Send) -> None:
        # A synchronous streaming response (a file, an export): each chunk is made in a thread.
        loop = asyncio.get_running_loop()
        chunks = iter(result)
        while (chunk := await loop.run_in_executor(self.executor, next, chunks, None)) is not None:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


#: Seconds a stopping server gives the replies it writes into Stream to end.
SHUTDOWN_GRACE = 20.0


async def _let_go() -> None:
    """At shutdown: let replies being written into Stream end, then close the loop's HTTP clients."""
    from chatbot.providers import get_provider
    from chatbot.transports.stream.client import close_async_client
    from chatbot.transports.stream_arelay import finish_writing

    try:
        left = await finish_writing(SHUTDOWN_GRACE)
        if left:
            logger.warning("%s replies were still being written into Stream at shutdown; the sweep settles them", left)
        await close_async_client()
        closing = getattr(get_provider(), "aclose", None)
        if closing is not None:
            await closing()
    except Exception:
        logger.exception("Letting go of the chat's connections at shutdown failed")


async def _stream_until_disconnect(result: Any, receive: Receive, send: Send) -> None:
    async def pump() -> None:
        async for chunk in result:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    streaming = asyncio.ensure_future(pump())
    listening = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({streaming, listening}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # A visitor who left cancels the reply: the relay ends the provider's request and stores it.
        for task in (streaming, listening):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streaming
        with contextlib.suppress(asyncio.CancelledError):
            await listening


async def _read_body(receive: Receive) -> Any:
    """The request body in a file (in memory up to Django's upload limit, on disk beyond), or None
    when the client disconnected first."""
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")  # noqa: SIM115
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body


def _environ(scope: Scope, body: Any, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """PEP 3333's environ for an ASGI HTTP scope (strings hold bytes as latin-1, as WSGI requires)."""
    root = scope.get("root_path", "") or ""
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        ON_LOOP: loop,
    }
    for raw_name, raw_value in scope.get("headers", []):
        if b"_" in raw_name:
            # As WSGI servers do: "X_Forwarded_For" must not pass for "X-Forwarded-For".
            continue
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        if key in environ:
            value = f"{environ[key]}{'; ' if key == 'HTTP_COOKIE' else ','}{value}"
        environ[key] = value
    if "CONTENT_LENGTH" not in environ:
        # A chunked request body was read whole: its length is known now.
        size = body.seek(0, os.SEEK_END)
        body.seek(0)
        if size:
            environ["CONTENT_LENGTH"] = str(size)
    return environ
