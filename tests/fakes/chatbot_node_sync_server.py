"""A fake chatbot-node for data sync that behaves like the service as deployed
(github.com/shygoly/chatbot-node): its ``updateDataset`` route and its EverShop webhook receiver.

* ``POST /api/coze/bot/updateDataset/:type`` checks a Bearer JWT against its own ``JWT_SECRET``
  (``jsonwebtoken.verify``: signature and expiry only), reads ``parseInt(type)`` (1 product, 2 order,
  3 customer) and answers 200 ``{"success": true, "datasetType": <name>, "shopId"}`` for any type,
  without ``datasetType`` for one it cannot read.
* ``POST /api/webhooks/evershop/{product,order,customer}`` checks ``X-EverShop-Signature`` against the
  hex HMAC-SHA256, with ``EVERSHOP_WEBHOOK_SECRET``, of ``JSON.stringify(req.body)``: the body as
  JavaScript parses and prints it again (numbers, key order and escapes included), not the bytes sent.

It can be told to fail the Nth bulk batch (``fail_on``) for ``fail_times`` requests, and to fail the next
webhooks (``webhook_failures``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable
from typing import Any

import jwt

from tests.fakes.chatbot_node import js_parse_int
from tests.fakes.server import FakeHandler, FakeServer, Recorded

DATASET_PREFIX = "/api/coze/bot/updateDataset/"
WEBHOOK_PREFIX = "/api/webhooks/evershop/"
DATASET_TYPES = {1: "product", 2: "order", 3: "customer"}


# -- JavaScript's JSON.parse and JSON.stringify ---------------------------------------------------------


def js_parse(body: bytes) -> Any:
    """``JSON.parse``: every number is a double."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"Unexpected token {name[0]} in JSON")

    return json.loads(body.decode("utf-8", errors="replace"), parse_int=float, parse_constant=no_constants)


def js_number(value: float) -> str:
    """ECMAScript ``Number::toString`` (what ``JSON.stringify`` writes for a number)."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + js_number(-value)
    # repr gives the shortest digits that read back as the same double, as ECMAScript asks.
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if whole != "0":
        point = len(whole) + int(exponent or 0)
    else:
        point = int(exponent or 0) - (len(fraction) - len(fraction.lstrip("0")))
    digits = digits.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def _js_string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    # A lone surrogate is written as an escape (well-formed JSON.stringify).
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _is_index(key: str) -> bool:
    return re.fullmatch(r"0|[1-9][0-9]*", key) is not None and int(key) <= 2**32 - 2


def js_stringify(value: Any) -> str:
    """``JSON.stringify(value)`` of what :func:`js_parse` returned."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    # Own property order: integer-like keys ascending, then the rest as inserted.
    keys = sorted((k for k in value if _is_index(k)), key=int) + [k for k in value if not _is_index(k)]
    return "{" + ",".join(f"{_js_string(k)}:{js_stringify(value[k])}" for k in keys) + "}"


# -- the service ------------------------------------------------------------------------------------------


class FakeSyncNode(FakeServer):
    def __init__(self, *, jwt_secret: str, shop_id: str, webhook_secret: str | None):
        super().__init__()
        #: chatbot-node's JWT_SECRET and EVERSHOP_WEBHOOK_SECRET.
        self.jwt_secret = jwt_secret
        self.webhook_secret = webhook_secret
        self.shop_id = shop_id
        #: Accepted items per dataset name (None: filed under no type), in the order they arrived.
        self.items: dict[str | None, list[dict[str, Any]]] = {}
        self.batches: dict[str | None, list[int]] = {}
        #: 1-based number of the bulk request (counted over all requests) that fails, and how often.
        self.fail_on: int | None = None
        self.fail_times = 1
        self.bulk_requests = 0
        self.webhook_failures = 0
        #: Accepted webhook bodies, and the route (product, order, customer) each came to.
        self.webhooks: list[dict[str, Any]] = []
        self.webhook_routes: list[str] = []
        #: Called with each signed webhook's JSON before it is answered (what else happens meanwhile).
        self.on_webhook: Callable[[dict[str, Any]], None] | None = None

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.method == "POST" and request.path.startswith(DATASET_PREFIX):
            self.bulk(handler, request, request.path[len(DATASET_PREFIX) :])
        elif request.method == "POST" and request.path[len(WEBHOOK_PREFIX) :] in ("product", "order", "customer"):
            self.webhook(handler, request, request.path[len(WEBHOOK_PREFIX) :])
        else:
            handler.send_json(404, {"error": "Not Found", "message": request.path, "statusCode": 404})

    def _authenticate(self, handler: FakeHandler, request: Recorded) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            self.problem("bulk upload without a bearer token")
            handler.send_json(401, {"error": "Unauthorized", "message": "No authorization token provided"})
            return False
        try:
            claims = jwt.decode(
                header[7:], self.jwt_secret, algorithms=["HS256", "HS384", "HS512"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            handler.send_json(401, {"error": "Unauthorized", "message": "Invalid or expired token", "statusCode": 401})
            return False
        if claims.get("shopId") != self.shop_id:
            self.problem(f"shopId claim {claims.get('shopId')!r}")
        if claims.get("role") == "admin":
            self.problem("the admin role was asked for")
        return True

    def bulk(self, handler: FakeHandler, request: Recorded, type_param: str) -> None:
        if not self._authenticate(handler, request):
            return
        with self.lock:
            self.bulk_requests += 1
            number = self.bulk_requests
            failing = self.fail_on is not None and self.fail_on <= number < self.fail_on + self.fail_times
        if failing:
            handler.send_json(503, {"error": "Service Unavailable"})
            return
        body = request.json or {}
        number = js_parse_int(type_param)
        name = DATASET_TYPES.get(number) if number is not None else None
        if body.get("shopId") != self.shop_id or not isinstance(body.get("items"), list):
            self.problem(f"bad batch body: { {k: v for k, v in body.items() if k != 'items'} }")
        with self.lock:
            self.items.setdefault(name, []).extend(body.get("items") or [])
            self.batches.setdefault(name, []).append(len(body.get("items") or []))
        answer = {"success": True, "datasetType": name, "shopId": body.get("shopId")}
        # JSON.stringify leaves out what is undefined.
        handler.send_json(200, {key: value for key, value in answer.items() if value is not None})

    def webhook(self, handler: FakeHandler, request: Recorded, route: str) -> None:
        signature = request.headers.get("x-evershop-signature")
        if not signature:
            handler.send_json(401, {"code": 1, "msg": "Missing webhook signature"})
            return
        if not self.webhook_secret:
            handler.send_json(500, {"code": 1, "msg": "Webhook secret not configured"})
            return
        try:
            parsed = js_parse(request.body)
        except ValueError:
            handler.send_json(400, {"error": "Bad Request", "statusCode": 400})
            return
        printed = js_stringify(parsed).encode("utf-8")
        expected = hmac.new(self.webhook_secret.encode(), printed, hashlib.sha256).hexdigest()
        if signature != expected:
            self.problem("X-EverShop-Signature does not match JSON.stringify of the parsed body")
            handler.send_json(401, {"code": 1, "msg": "Invalid webhook signature"})
            return
        if request.headers.get("x-webhook-signature") != signature:
            self.problem("X-Webhook-Signature is not the same signature")
        body = request.json
        if not body.get("event") or not body.get("data"):
            handler.send_json(400, {"code": 1, "msg": "Missing event or data in webhook payload"})
            return
        if not str(body["event"]).startswith(route + "."):
            self.problem(f"{body['event']} sent to the {route} route")
        if self.on_webhook is not None:
            self.on_webhook(body)
        with self.lock:
            if self.webhook_failures > 0:
                self.webhook_failures -= 1
                handler.send_json(500, {"code": 1, "msg": "Failed to process webhook"})
                return
            self.webhooks.append(body)
            self.webhook_routes.append(route)
        queued = {"event": body["event"], "queued": True}
        handler.send_json(200, {"code": 0, "msg": "Webhook received and queued", "data": queued})

    def ids(self, kind: str) -> list[str]:
        return [item["id"] for item in self.items.get(kind, [])]
