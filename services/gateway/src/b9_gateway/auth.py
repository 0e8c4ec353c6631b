"""Who is calling: per-person API keys, session cookies, and ``GATEWAY_API_KEY``.

Credentials: ``Authorization: Bearer <key>`` (a person's ``b9_<id>_<secret>`` key, or
``GATEWAY_API_KEY``, an admin key for scripts), or the ``b9_session`` cookie that
``POST /api/v1/login`` sets (a random token; its session lives in the ``sessions`` KV bucket).
Every worker resolves them from an ``AccountsMirror`` fed by KV watches, so a logout, a
disabled account or a rotated key is refused everywhere within milliseconds.

The auth gate (``gate.py``) resolves the caller once per request and stores the ``Actor`` in
``request.state.actor``; routes read it with ``actor_of(request)``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
from typing import Any, Literal

from b9_common.accounts.mirror import AccountsMirror
from b9_common.accounts.store import Account, AccountStore, bootstrap_account
from b9_common.events import Actor
from fastapi import HTTPException, Request
from starlette.requests import cookie_parser
from starlette.types import Scope

from b9_gateway.ratelimit import TokenBuckets
from b9_gateway.settings import Settings

log = logging.getLogger(__name__)
COOKIE = "b9_session"
Channel = Literal["dashboard", "api", "cli"]


class Credentials:
    """What a request presents: a bearer key and/or the session cookie, and its channel."""

    __slots__ = ("bearer", "cli", "session")

    def __init__(self, scope: Scope) -> None:
        self.bearer: str | None = None
        self.session: str | None = None
        self.cli = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    self.bearer = text[7:].strip() or None
                else:
                    self.bearer = text  # wrong scheme: presented, and wrong
            elif name == b"cookie":
                self.session = cookie_parser(value.decode("latin-1")).get(COOKIE) or self.session
            elif name == b"x-b9-channel":
                self.cli = value.strip().lower() == b"cli"

    @property
    def present(self) -> bool:
        return self.bearer is not None or self.session is not None

    @property
    def channel(self) -> Channel:
        if self.cli:
            return "cli"
        return "api" if self.bearer is not None else "dashboard"


class AccountsUnavailable(Exception):
    """The accounts could not be read (NATS down at start): answer 503."""


class Authenticator:
    """Resolves credentials to accounts for one worker (one per app)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = settings.gateway_api_key
        self.bootstrap: Account | None = bootstrap_account(key) if key else None
        self.store: AccountStore | None = None
        self.mirror: AccountsMirror | None = None
        self._lock = asyncio.Lock()
        self._closer: asyncio.Task[None] | None = None
        # Failed authentications per client address (``gate.py``, ``routes/session.py``).
        self.failures = TokenBuckets(settings.gateway_auth_fail_rate, settings.gateway_auth_fail_burst)

    def blocked(self, client: str) -> int:
        """Seconds until ``client`` may present credentials again (0: now)."""
        wait = self.failures.peek(client)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def failed(self, client: str) -> None:
        self.failures.take(client)
        log.info("failed authentication", extra={"client": client})

    async def ensure(self, deps: Any) -> AccountsMirror:
        """The mirror, built and started on first use from the app's NATS handles."""
        if self.mirror is not None and self.mirror.ready:
            return self.mirror
        async with self._lock:
            if self.mirror is None:
                try:
                    accounts = await deps.topology.accounts_kv(deps.js)
                    sessions = await deps.topology.sessions_kv(deps.js)
                except Exception as exc:
                    raise AccountsUnavailable(str(exc)) from exc
                self.store = AccountStore(accounts, sessions)
                self.mirror = AccountsMirror(self.store)
                self._closer = asyncio.get_running_loop().create_task(_close_on(deps.closing, self.mirror))
            try:
                await self.mirror.start(within=5.0)
            except TimeoutError as exc:
                raise AccountsUnavailable("the accounts bucket did not answer in 5 s") from exc
        return self.mirror

    def is_bootstrap_key(self, key: str) -> bool:
        api_key = self.settings.gateway_api_key
        return bool(api_key) and hmac.compare_digest(key.encode(), api_key.encode())

    async def resolve(self, creds: Credentials, deps: Any) -> Account | None:
        if creds.bearer is not None:
            if self.is_bootstrap_key(creds.bearer):
                return self.bootstrap
            if not creds.bearer.startswith("b9_"):
                return None
            return await (await self.ensure(deps)).by_key(creds.bearer)
        if creds.session is not None:
            return await (await self.ensure(deps)).by_session(creds.session, self.bootstrap)
        return None

    async def close(self) -> None:
        if self.mirror is not None:
            await self.mirror.close()


async def _close_on(closing: asyncio.Event, mirror: AccountsMirror) -> None:
    await closing.wait()
    await mirror.close()


def actor(account: Account, channel: Channel) -> Actor:
    return Actor(id=account.id, name=account.name, role=account.role, channel=channel)


def unauthorized(detail: str = "missing or wrong API key: send 'Authorization: Bearer <key>' or log in",
                 ) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def actor_of(request: Request) -> Actor:
    """The caller of an authenticated route (set by the auth gate; 401 if there is none)."""
    found = request.scope.get("state", {}).get("actor")
    if not isinstance(found, Actor):
        raise unauthorized()
    return found


def check_scope_key(key: str, scope: Scope) -> None:
    """Raise 401 unless the auth gate resolved a caller for this request (``key`` is unused:
    kept for callers written when one shared key was checked here)."""
    if not isinstance(scope.get("state", {}).get("actor"), Actor):
        raise unauthorized()


async def require_key(request: Request) -> None:
    """Dependency of every /api route except login/logout: a second line behind the gate."""
    actor_of(request)


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "A person's API key (b9 users add / b9 users key), or GATEWAY_API_KEY (admin)"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "Session cookie from POST /api/v1/login",
    },
}
