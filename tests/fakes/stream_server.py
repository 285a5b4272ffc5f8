"""A loopback Stream Chat REST API: the part of it the app uses, over real HTTP, for the real SDK.

It checks what Stream checks on every call (the ``api_key`` query parameter and a server JWT signed
HS256 with the secret, ``{"server": true}``), keeps users, channels, messages, events and the app's
event hooks in memory, records every call, and can be told to fail the next calls of an operation
(429, 5xx) or hold the next call of an operation unanswered until the test lets it go. Tests wait on
:meth:`FakeStream.wait_for`, which the server signals on every call.

Also here: test providers (plug-ins selected by dotted path in ``CHATBOT["PROVIDER"]``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import re
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from chatbot.exceptions import ProviderUnavailable
from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent

API_KEY = "test-stream-key"
API_SECRET = "test-stream-secret-0123456789abcdef"  # noqa: S105 - a test value
WAIT = 15.0  # an upper bound for a broken test, never a pacing delay

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/users$"), "upsert users"),
    ("PATCH", re.compile(r"^/users$"), "update users partial"),
    ("POST", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)/query$"), "query channel"),
    ("POST", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)/message$"), "send message"),
    ("POST", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)/event$"), "send event"),
    ("POST", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)/read$"), "mark read"),
    ("POST", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)$"), "update channel"),
    ("DELETE", re.compile(r"^/channels/(?P<type>[^/]+)/(?P<id>[^/]+)$"), "delete channel"),
    ("PUT", re.compile(r"^/messages/(?P<mid>[^/]+)$"), "update message partial"),
    ("DELETE", re.compile(r"^/messages/(?P<mid>[^/]+)$"), "delete message"),
    ("POST", re.compile(r"^/messages/(?P<mid>[^/]+)$"), "update message"),
    ("GET", re.compile(r"^/app$"), "get app"),
    ("PATCH", re.compile(r"^/app$"), "update app"),
]


_CLIENT_OPS = {"query channel", "send event", "mark read"}


@dataclass
class Call:
    method: str
    path: str
    op: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)
    #: Set for calls made with a visitor's token (the browser's client); None for the server.
    user_id: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fake = self.server.fake
        op, params = "unknown", {}
        for method, pattern, name in _ROUTES:
            match = pattern.match(parts.path)
            if match and method == self.command:
                op, params = name, match.groupdict()
                break
        call = Call(
            method=self.command,
            path=parts.path,
            op=op,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            params=params,
        )
        fake.wait_if_held(call)
        status, data = fake.answer(call)
        call.status = status
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._cors()
        self.end_headers()
        self.wfile.write(payload)
        fake.record(call)

    def _cors(self) -> None:
        # The browser's Stream client calls from the shop's origin, as it does with the real API.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers") or "*")
        self.send_header("Access-Control-Max-Age", "600")

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.server.fake.serve_websocket(self)
            return
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


class _Socket:
    """One server side of a websocket: text frames out (unmasked), frames in until close."""

    def __init__(self, handler: BaseHTTPRequestHandler, user_id: str):
        self.handler = handler
        self.user_id = user_id
        self.watching: set[str] = set()
        self.lock = threading.Lock()
        self.closed = False

    def send(self, data: Any) -> None:
        payload = json.dumps(data).encode()
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x81, 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 127, size)
        with self.lock:
            if self.closed:
                return
            try:
                self.handler.wfile.write(header + payload)
                self.handler.wfile.flush()
            except OSError:
                self.closed = True

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(OSError):
                    self.handler.wfile.write(b"\x88\x02\x03\xe8")
                    self.handler.wfile.flush()
        self.handler.close_connection = True

    def run(self) -> None:
        read = self.handler.rfile.read
        try:
            while not self.closed:
                head = read(2)
                if len(head) < 2:
                    break
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    size = struct.unpack("!H", read(2))[0]
                elif size == 127:
                    size = struct.unpack("!Q", read(8))[0]
                mask = read(4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(read(size)))
                if opcode == 0x8:
                    break
                if opcode == 0x9:  # ping
                    with self.lock:
                        self.handler.wfile.write(bytes([0x8A, len(data)]) + data)
                        self.handler.wfile.flush()
                elif opcode == 0x1 and b"health.check" in data:
                    self.send({"type": "health.check", "created_at": _now()})
        except OSError:
            pass
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStream


class FakeStream:
    """``with FakeStream() as stream:``; point ``STREAM_CHAT_BASE_URL`` at ``stream.url``."""

    def __init__(self, api_key: str = API_KEY, api_secret: str = API_SECRET) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.messages: dict[str, dict] = {}
        self.events: list[dict] = []
        self.app: dict[str, Any] = {"event_hooks": []}
        #: Open websockets by connection id.
        self.sockets: dict[str, _Socket] = {}
        self._failures: dict[str, list[int]] = {}
        self._holds: dict[str, list[threading.Event]] = {}
        self._releases: list[threading.Event] = []
        #: Calls the server holds unanswered right now (:meth:`hold`).
        self.held: list[Call] = []
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- test controls ---------------------------------------------------------------------------

    def fail(self, op: str, status: int, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` answer ``status`` with Stream's error body."""
        with self._changed:
            self._failures.setdefault(op, []).extend([status] * times)

    def hold(self, op: str) -> threading.Event:
        """The next call of ``op`` waits unanswered (it is in :attr:`held` meanwhile) until the returned
        event is set; the fake answers it as usual then."""
        release = threading.Event()
        with self._changed:
            self._holds.setdefault(op, []).append(release)
            self._releases.append(release)
        return release

    def wait_if_held(self, call: Call) -> None:
        with self._changed:
            holds = self._holds.get(call.op)
            release = holds.pop(0) if holds else None
            if release is None:
                return
            self.held.append(call)
            self._changed.notify_all()
        try:
            release.wait(WAIT)
        finally:
            with self._changed:
                self.held.remove(call)
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(predicate, timeout=timeout):
                raise AssertionError(f"Stream fake: condition not met; calls: {[c.op for c in self.calls]}")

    def ops(self, op: str | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if op is None or c.op == op]

    def event_types(self, message_id: str | None = None) -> list[str]:
        with self._changed:
            return [
                e["type"] if e["type"] != "ai_indicator.update" else e["ai_state"]
                for e in self.events
                if message_id is None or e.get("message_id") == message_id
            ]

    def has_event(self, kind: str, message_id: str | None = None) -> bool:
        return kind in self.event_types(message_id)

    # -- the API ---------------------------------------------------------------------------------

    def record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _authorised(self, call: Call) -> str | None:
        if call.query.get("api_key") != self.api_key:
            return "api_key query parameter missing or wrong"
        if call.headers.get("stream-auth-type") != "jwt":
            return "stream-auth-type header is not jwt"
        try:
            claims = jwt.decode(call.headers.get("authorization", ""), self.api_secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            return f"bad token: {exc}"
        if claims.get("server") is True:
            return None
        # A visitor's token (the browser): only what a visitor may do, in their own channels.
        call.user_id = claims.get("user_id")
        if not call.user_id or call.op not in _CLIENT_OPS:
            return f"a user token may not call {call.op}"
        return None

    def answer(self, call: Call) -> tuple[int, Any]:
        problem = self._authorised(call)
        if problem:
            with self._changed:
                self.problems.append(f"{call.method} {call.path}: {problem}")
            return 401, {"code": 5, "message": problem, "StatusCode": 401}
        with self._changed:
            queued = self._failures.get(call.op)
            if queued:
                status = queued.pop(0)
                code = 9 if status == 429 else -1
                return status, {
                    "code": code,
                    "message": "Too many requests" if status == 429 else "internal error",
                    "StatusCode": status,
                }
            handler = getattr(self, "_" + call.op.replace(" ", "_"), None)
            if handler is None:
                self.problems.append(f"unexpected call {call.method} {call.path}")
                return 404, {"code": 16, "message": "not found", "StatusCode": 404}
            return handler(call)

    @staticmethod
    def _error(status: int, code: int, message: str) -> tuple[int, Any]:
        return status, {"code": code, "message": message, "StatusCode": status}

    def _upsert_users(self, call: Call) -> tuple[int, Any]:
        users = (call.body or {}).get("users") or {}
        for user_id, user in users.items():
            if not re.fullmatch(r"[a-z0-9@_-]+", user_id) or user.get("id") != user_id:
                return self._error(400, 4, f"bad user id {user_id}")
            self.users[user_id] = dict(user)
        return 201, {"users": users}

    def _query_channel(self, call: Call) -> tuple[int, Any]:
        cid = f"{call.params['type']}:{call.params['id']}"
        if len(call.params["id"]) > 64:
            return self._error(400, 4, "channel id too long")
        data = (call.body or {}).get("data") or {}
        if cid not in self.channels:
            # As Stream does: a client-side create is made by the token's user, whatever the body says.
            creator = call.user_id or (data.get("created_by") or {}).get("id")
            if not creator:
                return self._error(400, 4, "either data.created_by or data.created_by_id must be provided")
            members = data.get("members") or []
            missing = [m for m in [creator, *members] if m not in self.users]
            if missing:
                return self._error(400, 4, f"could not find users {missing}")
            self.channels[cid] = {
                "id": call.params["id"],
                "type": call.params["type"],
                "cid": cid,
                "members": list(members),
                "data": data,
                "created_by": creator,
            }
        channel = self.channels[cid]
        if call.user_id is not None:
            return self._watch(call, channel)
        return 201, {
            "channel": {
                "id": channel["id"],
                "type": channel["type"],
                "cid": cid,
                "created_by": {"id": channel["created_by"]},
            },
            "members": [{"user_id": m} for m in channel["members"]],
        }

    def _watch(self, call: Call, channel: dict) -> tuple[int, Any]:
        if call.user_id not in channel["members"]:
            return self._error(403, 17, f"user {call.user_id} is not a member")
        connection = self.sockets.get(call.query.get("connection_id", ""))
        if connection is not None and (call.body or {}).get("watch"):
            connection.watching.add(channel["cid"])
        members = [{"user_id": m, "user": {"id": m}} for m in channel["members"]]
        messages = [m for m in self.messages.values() if m.get("cid") == channel["cid"]]
        return 201, {
            "channel": {
                "id": channel["id"],
                "type": channel["type"],
                "cid": channel["cid"],
                "config": {
                    "read_events": True,
                    "typing_events": True,
                    "connect_events": True,
                    "custom_events": True,
                    "name": "messaging",
                },
                "created_by": {"id": channel["created_by"]},
                "frozen": False,
                "member_count": len(members),
                "own_capabilities": ["send-message", "read-events", "send-custom-events"],
                "created_at": _now(),
                "updated_at": _now(),
            },
            "members": members,
            "messages": messages,
            "read": [],
            "watchers": [],
            "watcher_count": 1,
            "pinned_messages": [],
            "duration": "1ms",
        }

    def _mark_read(self, call: Call) -> tuple[int, Any]:
        channel = self._channel(call)
        if channel is None or call.user_id not in channel["members"]:
            return self._error(403, 17, "not a member")
        # As Stream does: the reader's clients hear about it and reset their unread counts.
        event = {"type": "message.read", "user": {"id": call.user_id}, "unread_messages": 0}
        self._push(channel, dict(event))
        return 201, {"event": event}

    def _channel(self, call: Call) -> dict | None:
        return self.channels.get(f"{call.params['type']}:{call.params['id']}")

    def _send_message(self, call: Call) -> tuple[int, Any]:
        channel = self._channel(call)
        if channel is None:
            return self._error(404, 16, "channel does not exist")
        message = dict((call.body or {}).get("message") or {})
        user_id = (message.get("user") or {}).get("id")
        if user_id not in channel["members"]:
            return self._error(403, 17, f"user {user_id} is not a member")
        message.setdefault("id", f"auto-{len(self.messages) + 1}")
        if message["id"] in self.messages:
            return self._error(400, 4, f"message with id {message['id']} already exists")
        message.update(
            cid=channel["cid"],
            type="regular",
            updates=0,
            created_at=_now(),
            updated_at=_now(),
            attachments=[],
            latest_reactions=[],
            own_reactions=[],
            mentioned_users=[],
            reaction_counts={},
            reaction_scores={},
            reply_count=0,
        )
        self.messages[message["id"]] = message
        self._push(channel, {"type": "message.new", "message": message, "user": message["user"]})
        return 201, {"message": message}

    def _update_message_partial(self, call: Call) -> tuple[int, Any]:
        message = self.messages.get(call.params["mid"])
        if message is None:
            return self._error(404, 16, "message does not exist")
        body = call.body or {}
        if (body.get("user") or {}).get("id") != (message.get("user") or {}).get("id"):
            return self._error(403, 17, "only the author may update the message")
        message.update(body.get("set") or {})
        message["updates"] += 1
        message["updated_at"] = _now()
        channel = self.channels.get(message.get("cid", ""))
        if channel is not None:
            self._push(channel, {"type": "message.updated", "message": message, "user": message["user"]})
        return 200, {"message": message}

    def _update_message(self, call: Call) -> tuple[int, Any]:
        return self._update_message_partial(call)

    def _send_event(self, call: Call) -> tuple[int, Any]:
        channel = self._channel(call)
        if channel is None:
            return self._error(404, 16, "channel does not exist")
        event = dict((call.body or {}).get("event") or {})
        if call.user_id is not None:
            if call.user_id not in channel["members"]:
                return self._error(403, 17, "not a member")
            event["user"] = {"id": call.user_id}
        event["cid"] = channel["cid"]
        self.events.append(event)
        self._push(channel, dict(event))
        return 201, {"event": event}

    # -- the websocket (enough of it for the browser's client) -----------------------------------

    def _push(self, channel: dict, event: dict) -> None:
        event.update(cid=channel["cid"], channel_id=channel["id"], channel_type=channel["type"], created_at=_now())
        for connection in list(self.sockets.values()):
            if channel["cid"] in connection.watching:
                connection.send(event)

    def serve_websocket(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        problem = None
        user_id = None
        try:
            claims = jwt.decode(query.get("authorization", ""), self.api_secret, algorithms=["HS256"])
            user_id = claims.get("user_id")
            payload = json.loads(query.get("json", "{}"))
            if query.get("api_key") != self.api_key or payload.get("user_id") != user_id or not user_id:
                problem = "websocket: api_key or user does not match the token"
        except (jwt.PyJWTError, ValueError) as exc:
            problem = f"websocket: bad token {exc}"
        key = handler.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()  # noqa: S324
        handler.send_response(101)
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        handler.end_headers()
        connection = _Socket(handler, user_id or "")
        if problem:
            with self._changed:
                self.problems.append(problem)
            connection.send({"error": {"code": 43, "message": problem, "StatusCode": 401}})
            connection.close()
            return
        connection_id = f"conn-{len(self.sockets) + 1}"
        with self._changed:
            self.sockets[connection_id] = connection
            self._changed.notify_all()
        connection.send(
            {
                "type": "health.check",
                "connection_id": connection_id,
                "cid": "*",
                "created_at": _now(),
                "me": {
                    "id": user_id,
                    "total_unread_count": 0,
                    "unread_channels": 0,
                    "unread_count": 0,
                    "channel_mutes": [],
                    "mutes": [],
                    "devices": [],
                },
            }
        )
        connection.run()
        with self._changed:
            self.sockets.pop(connection_id, None)
            self._changed.notify_all()

    def _update_channel(self, call: Call) -> tuple[int, Any]:
        channel = self._channel(call)
        if channel is None:
            return self._error(404, 16, "channel does not exist")
        for member in (call.body or {}).get("add_members") or []:
            member_id = member if isinstance(member, str) else member.get("user_id")
            if member_id not in channel["members"]:
                channel["members"].append(member_id)
        return 201, {"channel": {"id": channel["id"], "cid": channel["cid"]}}

    def _delete_channel(self, call: Call) -> tuple[int, Any]:
        channel = self.channels.pop(f"{call.params['type']}:{call.params['id']}", None)
        if channel is not None:
            # Deleting a channel deletes its messages with it.
            for mid in [mid for mid, m in self.messages.items() if m.get("cid") == channel["cid"]]:
                del self.messages[mid]
        return 200, {}

    def _delete_message(self, call: Call) -> tuple[int, Any]:
        message = self.messages.pop(call.params["mid"], None)
        if message is None:
            return self._error(404, 4, "message does not exist")
        return 200, {"message": message}

    def _get_app(self, call: Call) -> tuple[int, Any]:
        return 200, {"app": json.loads(json.dumps(self.app))}

    def _update_app(self, call: Call) -> tuple[int, Any]:
        body = call.body or {}
        if "event_hooks" in body:
            self.app["event_hooks"] = body["event_hooks"]
        return 201, {}

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStream:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            for release in self._releases:
                release.set()
        for connection in list(self.sockets.values()):
            connection.close()
            with contextlib.suppress(OSError):
                connection.handler.connection.shutdown(2)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeStream:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# -- providers for the Stream tests ---------------------------------------------------------------


class Script:
    """What the scripted providers answer, and the events a test and a provider share."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, chunks: list[str] | None = None, fail_after: int | None = None) -> None:
        self.chunks = chunks if chunks is not None else ["Hello", ", I am ", "the shop's ", "assistant."]
        self.fail_after = fail_after
        #: Set by the gated provider after its first chunk; it then waits for ``release``.
        self.waiting = threading.Event()
        self.release = threading.Event()
        self.sent: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.chunks)


SCRIPT = Script()


class ScriptedProvider(Provider):
    """Answers ``SCRIPT.chunks``; raises ProviderUnavailable after ``SCRIPT.fail_after`` chunks."""

    name = "scripted"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        for index, chunk in enumerate(SCRIPT.chunks):
            if SCRIPT.fail_after is not None and index >= SCRIPT.fail_after:
                raise ProviderUnavailable("scripted failure")
            SCRIPT.sent.append(chunk)
            yield Delta(chunk)
        yield Done()


class GatedProvider(Provider):
    """Sends the first chunk, waits until the test releases it, then sends the rest."""

    name = "gated"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        first, *rest = SCRIPT.chunks
        SCRIPT.sent.append(first)
        yield Delta(first)
        SCRIPT.waiting.set()
        SCRIPT.release.wait(WAIT)
        for chunk in rest:
            SCRIPT.sent.append(chunk)
            yield Delta(chunk)
        yield Done()


# -- fixtures ---------------------------------------------------------------------------------------


def stream_settings(fake: FakeStream, **extra: Any) -> dict[str, Any]:
    from django.conf import settings

    return {
        **settings.CHATBOT,
        "STREAM_CHAT_ENABLED": True,
        "STREAM_CHAT_API_KEY": fake.api_key,
        "STREAM_CHAT_API_SECRET": fake.api_secret,
        "STREAM_CHAT_BASE_URL": fake.url,
        "STREAM_CHAT_UPDATE_INTERVAL": 0,
        "PROVIDER": "tests.fakes.stream_server.ScriptedProvider",
        "ASSISTANT_NAME": "Maple Helper",
        "ASSISTANT_IMAGE": "https://shop.example/helper.png",
        **extra,
    }


def assistant_upserted(fake: FakeStream) -> bool:
    return any("shop-assistant" in ((c.body or {}).get("users") or {}) for c in fake.calls if c.op == "upsert users")


@pytest.fixture(name="stream")
def stream_fixture(settings):
    """A fake Stream app, the chat configured for it, and the assistant bootstrapped (as a first
    request would), so later counts of calls are exact."""
    from django.core.cache import cache

    from chatbot.transports.stream.bootstrap import on_first_request

    with FakeStream() as fake:
        # What an earlier test's fake was told is remembered under its address, and a new fake may get
        # the same port: start from an empty cache, as a new app would.
        cache.clear()
        SCRIPT.reset()
        settings.CHATBOT = stream_settings(fake)
        on_first_request()
        fake.wait_for(lambda: assistant_upserted(fake))
        yield fake
        assert fake.problems == []
