"""POST /login (a person's API key -> session cookie), POST /logout, GET /session (who am I)."""

from __future__ import annotations

import msgspec
from b9_common.accounts.mirror import AccountsMirror
from b9_common.accounts.store import Account
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from b9_gateway.auth import COOKIE, AccountsUnavailable, Authenticator, Credentials, actor_of
from b9_gateway.http import JSON, unauthorized, unavailable
from b9_gateway.openapi import doc

router = APIRouter(tags=["session"])


class LoginBody(BaseModel):
    key: str = Field(min_length=1, max_length=512, description="Your API key (b9 users add / b9 users key)")


class Session(msgspec.Struct):
    ok: bool
    expires_at: int | None = None
    name: str | None = None
    role: str | None = None


class Me(msgspec.Struct):
    id: str
    name: str
    role: str
    channel: str


def _auth(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


async def _mirror(auth: Authenticator, request: Request) -> AccountsMirror:
    try:
        return await auth.ensure(request.app.state.deps)
    except AccountsUnavailable:
        raise unavailable("accounts are unavailable (NATS); try again shortly", retry_after=5) from None


async def _account(auth: Authenticator, request: Request, key: str) -> Account | None:
    if auth.is_bootstrap_key(key):
        return auth.bootstrap
    if not key.startswith("b9_"):
        return None
    return await (await _mirror(auth, request)).by_key(key)


@router.post(
    "/login",
    responses={**doc(Session), 401: {"description": "Wrong or disabled key"}, 413: {"description": "Body too large"},
               429: {"description": "Too many failed sign-ins from this address"}},
    summary="Exchange your API key for a session cookie",
)
async def login(body: LoginBody, request: Request) -> JSON:
    auth = _auth(request)
    account = await _account(auth, request, body.key)
    if account is None:
        auth.failed(request.scope.get("state", {}).get("client", "?"))
        raise unauthorized("wrong or disabled key")
    ttl = auth.settings.gateway_session_ttl
    token, session = await (await _mirror(auth, request)).store.open_session(account, ttl)
    resp = JSON({"ok": True, "expires_at": int(session.expires_at), "name": account.name, "role": account.role})
    resp.set_cookie(
        COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return resp


@router.post("/logout", responses=doc(Session), summary="End the session (on every gateway worker)")
async def logout(request: Request) -> JSON:
    creds = Credentials(request.scope)
    if creds.session:
        auth = _auth(request)
        mirror = await _mirror(auth, request)
        if await mirror.by_session(creds.session, auth.bootstrap) is not None:  # no tombstones for made-up tokens
            await mirror.store.close_session(creds.session)
            await mirror.refresh_session(creds.session)  # refused here at once; elsewhere by the watch
    resp = JSON({"ok": True})
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return resp


@router.get("/session", responses=doc(Me), summary="Who the caller is (name, role, channel)")
async def whoami(request: Request) -> JSON:
    who = actor_of(request)
    return JSON({"id": who.id, "name": who.name, "role": who.role, "channel": who.channel})
