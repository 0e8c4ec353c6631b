"""People's accounts over the API (admin only, by ``policy``): list, add, disable / enable,
new key, role. The same store as ``b9 users``; keys are shown once, in the answer that made them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from b9_common.accounts.mirror import AccountsMirror
from b9_common.accounts.store import Account, AccountError, AccountStore
from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from b9_gateway.auth import AccountsUnavailable, Authenticator
from b9_gateway.http import JSON, conflict, missing, unavailable
from b9_gateway.openapi import doc

router = APIRouter(tags=["accounts"])
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="Account name")]
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Needs the admin role"},
    404: {"description": "No such account"},
    503: {"description": "Accounts unavailable (NATS)"},
}


class AccountItem(msgspec.Struct):
    id: str
    name: str
    role: str
    disabled: bool
    created_at: float
    key_rotated_at: float
    disabled_at: float | None


class AccountWithKey(msgspec.Struct):
    account: AccountItem
    key: str


class AddBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    role: Literal["viewer", "reviewer", "admin"]


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["viewer", "reviewer", "admin"]


def _item(a: Account) -> AccountItem:
    return AccountItem(a.id, a.name, a.role, a.disabled, a.created_at, a.key_rotated_at, a.disabled_at)


async def _mirror(request: Request) -> AccountsMirror:
    auth: Authenticator = request.app.state.auth
    try:
        return await auth.ensure(request.app.state.deps)
    except AccountsUnavailable:
        raise unavailable("accounts are unavailable (NATS); try again shortly", retry_after=5) from None


async def _store(request: Request) -> AccountStore:
    return (await _mirror(request)).store


def _refused(exc: AccountError) -> HTTPException:
    text = str(exc)
    return missing(text) if text.startswith("no account") else conflict(text)


@router.get("/accounts", responses={**doc(AccountItem, many=True), **ERRORS}, summary="Every account")
async def list_accounts(request: Request) -> JSON:
    return JSON([_item(a) for a in await (await _store(request)).list()])


@router.post("/accounts", status_code=201, summary="Create an account (its key is in this answer only)",
             responses={**doc(AccountWithKey, status=201), **ERRORS, 409: {"description": "Name taken"}})
async def add_account(body: AddBody, request: Request) -> JSON:
    try:
        account, key = await (await _store(request)).add(body.name, body.role)
    except AccountError as exc:
        raise _refused(exc) from None
    return JSON({"account": _item(account), "key": key}, status_code=201)


async def _change(request: Request, name: str, action: str, role: str | None = None) -> JSON:
    mirror = await _mirror(request)
    store = mirror.store
    key = None
    try:
        if action == "key":
            account, key = await store.rotate(name)
        elif action == "role":
            assert role is not None
            account = await store.set_role(name, role)
        else:
            account = await store.set_disabled(name, action == "disable")
    except AccountError as exc:
        raise _refused(exc) from None
    await mirror.refresh_account(account.id)  # in force here at once; elsewhere by the watch
    return JSON({"account": _item(account), "key": key} if key else _item(account))


@router.post("/accounts/{name}/disable", responses={**doc(AccountItem), **ERRORS},
             summary="Disable: the key and every session are refused at once, on every worker")
async def disable_account(name: Name, request: Request) -> JSON:
    return await _change(request, name, "disable")


@router.post("/accounts/{name}/enable", responses={**doc(AccountItem), **ERRORS},
             summary="Enable again (sessions the disable ended stay ended)")
async def enable_account(name: Name, request: Request) -> JSON:
    return await _change(request, name, "enable")


@router.post("/accounts/{name}/key", responses={**doc(AccountWithKey), **ERRORS},
             summary="A new key (in this answer only); the old key and its sessions end")
async def rotate_key(name: Name, request: Request) -> JSON:
    return await _change(request, name, "key")


@router.put("/accounts/{name}/role", responses={**doc(AccountItem), **ERRORS}, summary="Change the role")
async def set_role(name: Name, body: RoleBody, request: Request) -> JSON:
    return await _change(request, name, "role", body.role)
