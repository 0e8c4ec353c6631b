"""The auth gate: one ASGI middleware in front of every route, before any body is read.

For a path that needs credentials (``policy.needs_auth``) it answers
- 401 when none are presented or they are wrong (wrong ones count against the client's
  failed-auth bucket, keyed on its address: changing the header each time does not help),
- 429 with ``Retry-After`` while that bucket is empty (login attempts included),
- 403 naming the role needed and the caller's role when ``policy`` says so,
- 503 when the accounts cannot be read (NATS down when the worker started);
otherwise it sets ``scope["state"]["actor"]`` (``request.state.actor``). Every request body is
capped (``policy.body_limit``): a larger ``Content-Length`` is a 413 at once, a longer
streamed body a 413 when it passes the limit. Nothing is read before the caller is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b9_gateway import policy
from b9_gateway.auth import AccountsUnavailable, Authenticator, Credentials, actor
from b9_gateway.http import encode
from b9_gateway.ratelimit import client_address, too_many

log = logging.getLogger(__name__)


class BodyTooLarge(HTTPException):
    def __init__(self, path: str, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body too large: the limit for {path} is {limit} bytes")


def _limited(receive: Receive, path: str, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(path, limit)
        return message

    return wrapped


async def _answer(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    raw = encode(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *headers]})
    await send({"type": "http.response.body", "body": raw})


LONG_LIVED = ("/api/v1/events",)  # streams that end when their credentials do
RECHECK = 0.5  # seconds between checks of a long-lived stream's credentials


def _revocable(receive: Receive, still_valid: Callable[[], Awaitable[bool]], revoked: asyncio.Event) -> Receive:
    """``receive`` that reports a disconnect once the credentials are no longer valid (the
    live feed then ends as if the client had gone: a logout also ends its open streams)."""

    async def wrapped() -> Message:
        inner = asyncio.ensure_future(receive())
        try:
            while True:
                done, _ = await asyncio.wait({inner}, timeout=RECHECK)
                if done:
                    return inner.result()
                if not await still_valid():
                    revoked.set()
                    return {"type": "http.disconnect"}
        finally:
            if not inner.done():
                inner.cancel()

    return wrapped


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class AuthGate:
    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth
        self.trusted = auth.settings.trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if policy.needs_auth(path) or path == "/api/v1/login":
            client = client_address(scope, self.trusted)
            scope.setdefault("state", {})["client"] = client
            if not await self._admit(scope, send, path, client):
                return
        limit = policy.body_limit(path)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _answer(send, 413, {"detail": BodyTooLarge(path, limit).detail})
            return
        started = ended = False

        async def tracking(message: Message) -> None:
            nonlocal started, ended
            started = started or message["type"] == "http.response.start"
            ended = ended or (message["type"] == "http.response.body" and not message.get("more_body", False))
            await send(message)

        receive = _limited(receive, path, limit)
        revoked = asyncio.Event()
        if path in LONG_LIVED and "actor" in scope.get("state", {}):
            receive = _revocable(receive, self._checker(scope), revoked)
        try:
            await self.app(scope, receive, tracking)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, {"detail": exc.detail})
            return
        if revoked.is_set() and started and not ended:  # the stream stopped for us: end it properly
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _checker(self, scope: Scope) -> Callable[[], Awaitable[bool]]:
        creds, deps, method, path = Credentials(scope), scope["app"].state.deps, scope["method"], scope["path"]

        async def still_valid() -> bool:
            try:
                account = await self.auth.resolve(creds, deps)
            except AccountsUnavailable:
                return True  # cannot tell: keep the stream (requests are refused meanwhile)
            return account is not None and policy.allowed(account.role, method, path)

        return still_valid

    async def _admit(self, scope: Scope, send: Send, path: str, client: str) -> bool:
        creds = Credentials(scope)
        if path == "/api/v1/login" or creds.present:
            retry = self.auth.blocked(client)
            if retry:
                start, body = too_many(retry, "too many failed sign-ins from your address")
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return False
        if path == "/api/v1/login":
            return True  # the route checks the key and reports a failure (Authenticator.failed)
        if not creds.present:
            await _answer(send, 401, {"detail": "missing API key: send 'Authorization: Bearer <key>' or log in"},
                          [(b"www-authenticate", b"Bearer")])
            return False
        try:
            account = await self.auth.resolve(creds, scope["app"].state.deps)
        except AccountsUnavailable as exc:
            log.warning("accounts unavailable: %s", exc)
            await _answer(send, 503, {"detail": "accounts are unavailable (NATS); try again shortly"},
                          [(b"retry-after", b"5")])
            return False
        if account is None:
            self.auth.failed(client)
            what = "API key" if creds.bearer is not None else "session (logged out, expired or ended)"
            await _answer(send, 401, {"detail": f"wrong, disabled or revoked {what}: log in again"},
                          [(b"www-authenticate", b"Bearer")])
            return False
        who = actor(account, creds.channel)
        method = scope["method"]
        if not policy.allowed(who.role, method, path):
            need = policy.role_needed(method, path)
            await _answer(send, 403, {
                "detail": f"{method} {path} needs the {need} role; {who.name} is {who.role}",
                "needed": need, "role": who.role})
            return False
        scope.setdefault("state", {})["actor"] = who
        return True
