"""API key auth: ``Authorization: Bearer <GATEWAY_API_KEY>`` or a session cookie from /login.

The cookie is stateless (``<expiry>.<hmac(key, expiry)>``) so every worker process accepts
it without shared state, and changing the key logs every session out.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import HTTPException, Request
from starlette.requests import cookie_parser
from starlette.types import Scope

COOKIE = "b9_session"


def _sign(key: str, expires: int) -> str:
    return hmac.new(key.encode(), f"b9-session:{expires}".encode(), hashlib.sha256).hexdigest()


def session_token(key: str, ttl: int, now: float | None = None) -> tuple[str, int]:
    expires = int((now or time.time()) + ttl)
    return f"{expires}.{_sign(key, expires)}", expires


def valid_session(key: str, token: str, now: float | None = None) -> bool:
    exp_s, _, sig = token.partition(".")
    if not exp_s.isdigit() or len(exp_s) > 12:
        return False
    expires = int(exp_s)
    if expires < (now or time.time()):
        return False
    return hmac.compare_digest(sig, _sign(key, expires))


def valid_key(key: str, candidate: str) -> bool:
    return hmac.compare_digest(candidate.encode(), key.encode())


def authorized(key: str, authorization: str | None, cookie_header: str | None) -> bool:
    """The ``Authorization`` header carries the key, or the cookies a valid session."""
    if authorization and authorization[:7].lower() == "bearer " and valid_key(key, authorization[7:].strip()):
        return True
    if cookie_header:
        cookie = cookie_parser(cookie_header).get(COOKIE)
        return valid_session(key, cookie) if cookie else False
    return False


def unauthorized() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="missing or wrong API key: send 'Authorization: Bearer <key>' or log in",
        headers={"WWW-Authenticate": "Bearer"},
    )


def check_scope_key(key: str, scope: Scope) -> None:
    """Raise 401 unless the request is authorized (reads the raw ASGI headers)."""
    authorization = cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"cookie":
            cookie = value.decode("latin-1")
    if not authorized(key, authorization, cookie):
        raise unauthorized()


async def require_key(request: Request) -> None:
    """Dependency for every /api route except login (reads the headers directly: cheap)."""
    headers = request.headers
    if not authorized(request.app.state.settings.gateway_api_key, headers.get("authorization"), headers.get("cookie")):
        raise unauthorized()


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "GATEWAY_API_KEY"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "Session cookie from POST /api/v1/login",
    },
}
