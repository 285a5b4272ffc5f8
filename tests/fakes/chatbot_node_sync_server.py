"""A fake chatbot-node for data sync: the bulk ``updateDataset`` endpoint and the shop webhook receiver.

It checks what the real service would: the SSO JWT on bulk uploads, the batch shape, and the
HMAC-SHA256 signature of each webhook body. It can be told to fail the Nth bulk batch (``fail_on``)
for ``fail_times`` requests, and to fail the next webhooks (``webhook_failures``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import jwt

from tests.fakes.server import FakeHandler, FakeServer, Recorded

DATASET_PREFIX = "/api/coze/bot/updateDataset/"


class FakeSyncNode(FakeServer):
    def __init__(self, *, sso_secret: str, shop_id: str, webhook_secret: str, webhook_path: str = "/api/webhooks/shop"):
        super().__init__()
        self.sso_secret = sso_secret
        self.shop_id = shop_id
        self.webhook_secret = webhook_secret
        self.webhook_path = webhook_path
        #: Accepted items per kind, in the order they arrived.
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.batches: dict[str, list[int]] = {}
        #: 1-based number of the bulk request (counted over all requests) that fails, and how often.
        self.fail_on: int | None = None
        self.fail_times = 1
        self.bulk_requests = 0
        self.webhook_failures = 0
        self.webhooks: list[dict[str, Any]] = []
        #: Called with each signed webhook's JSON before it is answered (what else happens meanwhile).
        self.on_webhook: Callable[[dict[str, Any]], None] | None = None

    def _check_jwt(self, request: Recorded) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            self.problem("bulk upload without a bearer token")
            return False
        try:
            claims = jwt.decode(
                header[7:], self.sso_secret, algorithms=["HS256"], audience="chatbot-node", issuer="shopsaas"
            )
        except jwt.PyJWTError as exc:
            self.problem(f"bad JWT: {exc}")
            return False
        if claims.get("shopId") != self.shop_id:
            self.problem(f"shopId claim {claims.get('shopId')!r}")
        if claims.get("role") == "admin":
            self.problem("the admin role was asked for")
        if claims["exp"] - claims["iat"] != 3600:
            self.problem("token lifetime is not one hour")
        return True

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if request.method == "POST" and request.path.startswith(DATASET_PREFIX):
            self.bulk(handler, request, request.path[len(DATASET_PREFIX) :])
        elif request.method == "POST" and request.path == self.webhook_path:
            self.webhook(handler, request)
        else:
            handler.send_json(404, {"error": "Not Found", "statusCode": 404})

    def bulk(self, handler: FakeHandler, request: Recorded, kind: str) -> None:
        if not self._check_jwt(request):
            handler.send_json(401, {"error": "Unauthorized"})
            return
        with self.lock:
            self.bulk_requests += 1
            number = self.bulk_requests
            failing = self.fail_on is not None and self.fail_on <= number < self.fail_on + self.fail_times
        if failing:
            handler.send_json(503, {"error": "Service Unavailable"})
            return
        body = request.json or {}
        if body.get("type") != kind or body.get("shopId") != self.shop_id or not isinstance(body.get("items"), list):
            self.problem(f"bad batch body for {kind}: { {k: v for k, v in body.items() if k != 'items'} }")
        with self.lock:
            self.items.setdefault(kind, []).extend(body.get("items") or [])
            self.batches.setdefault(kind, []).append(len(body.get("items") or []))
        handler.send_json(200, {"success": True, "received": len(body.get("items") or [])})

    def webhook(self, handler: FakeHandler, request: Recorded) -> None:
        expected = hmac.new(self.webhook_secret.encode(), request.body, hashlib.sha256).hexdigest()
        signature = request.headers.get("x-webhook-signature", "")
        if not hmac.compare_digest(expected, signature):
            self.problem("webhook signature does not match the body")
            handler.send_json(401, {"error": "Invalid signature"})
            return
        if self.on_webhook is not None:
            self.on_webhook(request.json)
        with self.lock:
            if self.webhook_failures > 0:
                self.webhook_failures -= 1
                handler.send_json(500, {"error": "Internal Server Error"})
                return
            self.webhooks.append(request.json)
        handler.send_json(200, {"received": True})

    def ids(self, kind: str) -> list[str]:
        return [item["id"] for item in self.items.get(kind, [])]
