"""API key auth: ``Authorization: Bearer <GATEWAY_API_KEY>`` or a session cookie from /login.

The cookie is stateless (``<expiry>.<hmac(key, expiry)>``) so every worker process accepts
it without shared state, and changing the key logs every session out.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import HTTPException, Request

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


async def require_key(request: Request) -> None:
    """Dependency for every /api route except login (reads the headers directly: cheap)."""
    key: str = request.app.state.settings.gateway_api_key
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer " and valid_key(key, auth[7:].strip()):
        return
    cookie = request.cookies.get(COOKIE)
    if cookie and valid_session(key, cookie):
        return
    raise HTTPException(
        status_code=401,
        detail="missing or wrong API key: send 'Authorization: Bearer <key>' or log in",
        headers={"WWW-Authenticate": "Bearer"},
    )


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "GATEWAY_API_KEY"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "Session cookie from POST /api/v1/login",
    },
}
