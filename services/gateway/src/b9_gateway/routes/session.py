"""POST /login (API key -> session cookie) and /logout."""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from b9_gateway.auth import COOKIE, session_token, valid_key
from b9_gateway.http import JSON
from b9_gateway.openapi import doc

router = APIRouter(tags=["session"])


class LoginBody(BaseModel):
    key: str = Field(min_length=1, max_length=512, description="GATEWAY_API_KEY")


class Session(msgspec.Struct):
    ok: bool
    expires_at: int | None = None


@router.post(
    "/login",
    responses={**doc(Session), 401: {"description": "Wrong key"}},
    summary="Exchange the API key for a session cookie",
)
async def login(body: LoginBody, request: Request) -> JSON:
    settings = request.app.state.settings
    if not valid_key(settings.gateway_api_key, body.key):
        raise HTTPException(status_code=401, detail="wrong API key")
    token, expires = session_token(settings.gateway_api_key, settings.gateway_session_ttl)
    resp = JSON({"ok": True, "expires_at": expires})
    resp.set_cookie(
        COOKIE,
        token,
        max_age=settings.gateway_session_ttl,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return resp


@router.post("/logout", responses=doc(Session), summary="Drop the session cookie")
async def logout() -> JSON:
    resp = JSON({"ok": True})
    resp.delete_cookie(COOKIE, path="/")
    return resp
