"""People's accounts and dashboard sessions, kept in two JetStream KV buckets.

Bucket ``accounts`` (``Topology.accounts_kv``): ``a.<id>`` -> ``Account`` JSON and
``n.<name>`` -> ``<id>`` (created with ``kv.create``, so names are unique).
Bucket ``sessions`` (``Topology.sessions_kv``): ``s.<sha256(token)>`` -> ``Session`` JSON;
a session expires at its ``expires_at`` (the bucket's age limit only collects garbage).

An API key looks like ``b9_<account id>_<secret>`` (secret: 32 random bytes, urlsafe): the id
finds the account in O(1) and only ``sha256(secret)`` is stored. Rotating the key changes the
hash, and every session remembers the hash it was created under, so rotation ends them all.
Readers that must see changes at once (the gateway) use ``AccountsMirror`` (accounts/mirror.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_common.events.decisions import ROLES, Role
from b9_common.jetstream.kv import kv_keys

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
BOOTSTRAP_ID = "bootstrap"


class AccountError(Exception):
    """A request the store refuses (unknown name, name taken, bad role): a message for people."""


class Account(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: Role
    key_hash: str
    created_at: float
    key_rotated_at: float
    disabled: bool = False
    disabled_at: float | None = None


class Session(msgspec.Struct, kw_only=True):
    account_id: str
    key_hash: str  # the account's key hash when the session began: a rotation ends it
    created_at: float
    expires_at: float


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``b9_<id>_<secret>`` -> (id, secret), else None."""
    prefix, _, rest = key.partition("_")
    account_id, _, secret = rest.partition("_")
    if prefix != "b9" or not account_id or not secret or len(key) > 200 or not account_id.isalnum():
        return None
    return account_id, secret


def key_matches(account: Account, secret: str) -> bool:
    return not account.disabled and hmac.compare_digest(account.key_hash, hash_secret(secret))


def session_key(token: str) -> str:
    return "s." + hashlib.sha256(token.encode()).hexdigest()


def session_valid(session: Session | None, account: Account | None, now: float | None = None) -> bool:
    if session is None or account is None or account.disabled:
        return False
    if session.expires_at <= (time.time() if now is None else now):
        return False
    if account.disabled_at is not None and session.created_at <= account.disabled_at:
        return False  # begun before the account was last disabled: ended by it
    return hmac.compare_digest(session.key_hash, account.key_hash)


def bootstrap_account(api_key: str) -> Account:
    """``GATEWAY_API_KEY`` as an admin account (scripts; never stored)."""
    return Account(id=BOOTSTRAP_ID, name="GATEWAY_API_KEY", role="admin", key_hash=hash_secret(api_key),
                   created_at=0.0, key_rotated_at=0.0)


def _new_key(account_id: str) -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return f"b9_{account_id}_{secret}", hash_secret(secret)


def _check(name: str, role: str | None = None) -> None:
    if not NAME_RE.match(name):
        raise AccountError(f"invalid name {name!r}: 1-64 letters, digits, '_' or '-', starting with a letter or digit")
    if role is not None and role not in ROLES:
        raise AccountError(f"invalid role {role!r}: one of {', '.join(ROLES)}")


class AccountStore:
    """Reads and writes accounts and sessions (CLI, gateway writes, tests)."""

    def __init__(self, accounts: KeyValue, sessions: KeyValue) -> None:
        self.accounts = accounts
        self.sessions = sessions

    async def _get(self, kv: KeyValue, key: str) -> tuple[bytes, int] | None:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.operation in ("DEL", "PURGE"):
            return None
        return entry.value, entry.revision or 0

    async def get(self, account_id: str) -> Account | None:
        found = await self._get(self.accounts, f"a.{account_id}")
        return msgspec.json.decode(found[0], type=Account) if found else None

    async def by_name(self, name: str) -> Account | None:
        _check(name)
        found = await self._get(self.accounts, f"n.{name}")
        return await self.get(found[0].decode()) if found else None

    async def list(self) -> list[Account]:
        found = [await self.get(k[2:]) for k in await kv_keys(self.accounts, "a.")]
        return sorted((a for a in found if a), key=lambda a: (a.created_at, a.name))

    async def add(self, name: str, role: str) -> tuple[Account, str]:
        """Create an account; returns it with its API key (shown once, never stored)."""
        _check(name, role)
        account_id = secrets.token_hex(6)
        key, key_hash = _new_key(account_id)
        now = time.time()
        account = Account(id=account_id, name=name, role=role, key_hash=key_hash,  # type: ignore[arg-type]
                          created_at=now, key_rotated_at=now)
        try:
            await self.accounts.create(f"n.{name}", account_id.encode())
        except KeyWrongLastSequenceError:
            raise AccountError(f"an account named {name!r} exists") from None
        await self.accounts.put(f"a.{account_id}", msgspec.json.encode(account))
        return account, key

    async def _change(self, name: str, **changes: object) -> Account:
        for _ in range(10):
            account = await self.by_name(name)
            if account is None:
                raise AccountError(f"no account named {name!r}")
            found = await self._get(self.accounts, f"a.{account.id}")
            if found is None:
                continue
            current = msgspec.json.decode(found[0], type=Account)
            updated = msgspec.structs.replace(current, **changes)
            try:
                await self.accounts.update(f"a.{account.id}", msgspec.json.encode(updated), last=found[1])
            except KeyWrongLastSequenceError:
                continue  # changed meanwhile: read again
            return updated
        raise AccountError(f"account {name!r} keeps changing; try again")

    async def set_disabled(self, name: str, disabled: bool = True) -> Account:
        """Disable (its key and sessions are refused) or enable again (the key works again; the
        sessions the disable ended stay ended: ``disabled_at`` keeps the last disable)."""
        if disabled:
            return await self._change(name, disabled=True, disabled_at=time.time())
        return await self._change(name, disabled=False)

    async def set_role(self, name: str, role: str) -> Account:
        _check(name, role)
        return await self._change(name, role=role)

    async def rotate(self, name: str) -> tuple[Account, str]:
        """A new key; the old one and every session begun with it stop working."""
        account = await self.by_name(name)
        if account is None:
            raise AccountError(f"no account named {name!r}")
        key, key_hash = _new_key(account.id)
        return await self._change(name, key_hash=key_hash, key_rotated_at=time.time()), key

    async def check_key(self, key: str) -> Account | None:
        parts = split_key(key)
        if parts is None:
            return None
        account = await self.get(parts[0])
        return account if account is not None and key_matches(account, parts[1]) else None

    async def open_session(self, account: Account, ttl: float) -> tuple[str, Session]:
        """A new session token for ``account`` (the cookie's value; only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = Session(account_id=account.id, key_hash=account.key_hash, created_at=now, expires_at=now + ttl)
        await self.sessions.put(session_key(token), msgspec.json.encode(session))
        return token, session

    async def close_session(self, token: str) -> None:
        await self.sessions.delete(session_key(token))

    async def session(self, token: str) -> Session | None:
        found = await self._get(self.sessions, session_key(token))
        return msgspec.json.decode(found[0], type=Session) if found else None


async def ensure_admin(store: AccountStore, name: str = "admin") -> tuple[Account, str | None]:
    """The account ``name`` (admin); created when missing, then with its new key."""
    existing = await store.by_name(name)
    if existing is not None:
        return existing, None
    try:
        return await store.add(name, "admin")
    except AccountError:  # created concurrently
        again = await store.by_name(name)
        if again is None:
            raise
        return again, None
