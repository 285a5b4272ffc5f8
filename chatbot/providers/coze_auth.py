"""Coze access tokens: a personal access token, or an OAuth JWT (service) app.

The JWT app signs a one-use RS256 JWT and trades it for an access token at
``POST /api/permission/oauth2/token``. Coze's ``expires_in`` is an absolute Unix time, not a
duration; the token is cached until shortly before then, behind a lock so concurrent replies do not
all fetch one. On an authentication error the provider drops the token and asks for a new one once.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt

from chatbot.exceptions import ProviderAuthError, ProviderBadResponse, ProviderError

if TYPE_CHECKING:
    from chatbot.providers.coze import CozeProvider

TOKEN_PATH = "/api/permission/oauth2/token"  # noqa: S105 - a URL path, not a secret
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Lifetime asked for each access token (Coze allows up to 86399 s).
TOKEN_DURATION = 3600
#: Lifetime of the signed JWT itself; Coze accepts each one once.
JWT_LIFETIME = 3600
#: Refresh this long before the token expires, so a reply never starts with a dying token.
SAFETY_MARGIN = 60
#: Anything below this cannot be an absolute Unix time (it is September 2001).
_EARLIEST_TIMESTAMP = 1_000_000_000


def audience(api_base: str) -> str:
    """The JWT ``aud``: the API host without scheme (``api.coze.cn``)."""
    return urlsplit(api_base).netloc


def signed_jwt(client_id: str, key_id: str, private_key: str | bytes, api_base: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "aud": audience(api_base),
        "iat": now,
        "exp": now + JWT_LIFETIME,
        # Coze refuses a replayed JWT; jti makes each one unique.
        "jti": secrets.token_urlsafe(32),
    }
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": key_id})


def read_private_key(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        # The path is configuration, not a secret; the key's content never appears in messages.
        raise ProviderAuthError(f"cannot read COZE_PRIVATE_KEY_FILE {path!r}: {exc.strerror}") from exc


class CozeAuth:
    """Hands out the bearer token for Coze API calls."""

    def __init__(self, provider: CozeProvider):
        self.provider = provider
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    @property
    def options(self) -> Any:
        return self.provider.options

    @property
    def uses_jwt_app(self) -> bool:
        # The JWT app wins when both are set: its tokens renew themselves, a PAT expires for good.
        return bool(self.options.COZE_CLIENT_ID)

    @property
    def refreshable(self) -> bool:
        return self.uses_jwt_app

    def token(self) -> str:
        if not self.uses_jwt_app:
            if not self.options.COZE_API_TOKEN:
                raise ProviderAuthError("neither COZE_API_TOKEN nor a Coze JWT app is configured")
            return str(self.options.COZE_API_TOKEN)
        with self._lock:
            if self._token is None or time.time() >= self._expires_at - SAFETY_MARGIN:
                self._token, self._expires_at = self._fetch()
            return self._token

    def at_hand(self) -> str | None:
        """The token when :meth:`token` would not call Coze for it (a personal access token, or a
        cached one not near its expiry); None when it would, or while another caller is fetching one.
        Never waits, so the event loop may ask."""
        if not self.uses_jwt_app:
            return self.token()
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._token is not None and time.time() < self._expires_at - SAFETY_MARGIN:
                return self._token
            return None
        finally:
            self._lock.release()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._expires_at = 0.0

    def _fetch(self) -> tuple[str, float]:
        opts = self.options
        if not (opts.COZE_PUBLIC_KEY_ID and opts.COZE_PRIVATE_KEY_FILE):
            raise ProviderAuthError("the Coze JWT app needs COZE_PUBLIC_KEY_ID and COZE_PRIVATE_KEY_FILE")
        key = read_private_key(opts.COZE_PRIVATE_KEY_FILE)
        try:
            assertion = signed_jwt(opts.COZE_CLIENT_ID, opts.COZE_PUBLIC_KEY_ID, key, opts.COZE_API_BASE)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ProviderAuthError(f"COZE_PRIVATE_KEY_FILE is not a usable RSA private key: {exc}") from exc
        response = self.provider.send(
            "POST",
            self.provider.api_url(TOKEN_PATH),
            json={"grant_type": GRANT_TYPE, "duration_seconds": TOKEN_DURATION},
            headers={"Authorization": f"Bearer {assertion}"},
            check=False,
        )
        if 400 <= response.status_code < 500 and response.status_code != 429:
            # Any refusal here (wrong kid, wrong site, revoked app) is a credentials problem.
            detail = self.provider.error_detail(response)
            response.close()
            raise ProviderAuthError(f"token refused (HTTP {response.status_code}): {detail}")
        self.provider.raise_for_status(response)
        data = self.provider.read_json(response)
        if not isinstance(data, dict):
            raise ProviderBadResponse("the token answer is not an object")
        if data.get("error_code") or data.get("error_message"):
            raise ProviderAuthError(f"token refused: {data.get('error_code')}: {data.get('error_message')}")
        token, expires = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires, int | float):
            raise ProviderBadResponse("the token answer has no access_token/expires_in")
        if expires < _EARLIEST_TIMESTAMP:
            # Coze documents an absolute time; a small number can only be a duration (a proxy's?).
            expires = time.time() + expires
        if expires <= time.time():
            raise ProviderError("Coze issued an access token that has already expired")
        return token, float(expires)
