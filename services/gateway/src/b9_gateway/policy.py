"""Who may call what, and how large a request body may be: one table for the whole app.

The auth gate (``gate.py``) applies it before a route runs (and before the body is read), so
routes never check roles themselves and a new route is covered by the first rule it matches.

Roles, each with everything of the one before:
- ``viewer``: reads everything (GET/HEAD) and marks their own notifications read.
- ``reviewer``: every review, tag, niche, "our creator" mark, model action, and requests to
  add or analyze (subreddits, users, creators, related creators, categorization).
- ``admin``: scraper control, replays, dead-letter retry/purge, accounts.
"""

from __future__ import annotations

from typing import Any

from b9_common.events.decisions import Role

RANK: dict[str, int] = {"viewer": 0, "reviewer": 1, "admin": 2}
READS = frozenset({"GET", "HEAD", "OPTIONS"})

# (path prefix, role needed for writes, role needed for reads); the first match wins.
RULES: tuple[tuple[str, Role, Role], ...] = (
    ("/api/v1/accounts", "admin", "admin"),
    ("/api/v1/scrapers", "admin", "viewer"),
    ("/api/v1/replays", "admin", "viewer"),
    ("/api/v1/dlq", "admin", "viewer"),
    ("/api/v1/logout", "viewer", "viewer"),
    ("/api/v1/notifications", "viewer", "viewer"),  # a person's own read mark
    ("/api/v1/", "reviewer", "viewer"),
    ("/media/", "admin", "viewer"),
)

# Paths that need no credentials at all (everything outside /api/v1 and /media is open too).
OPEN = frozenset({"/api/v1/login", "/api/v1/logout"})

# Largest request body per path prefix (bytes); the first match wins, DEFAULT_BODY otherwise.
DEFAULT_BODY = 256 * 1024
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/v1/login", 4096),
    ("/api/v1/logout", 4096),
    ("/api/v1/session", 4096),
    ("/api/v1/accounts", 4096),
    ("/api/v1/scrapers", 16 * 1024),
    ("/api/v1/replays", 16 * 1024),
    ("/api/v1/dlq", 16 * 1024),
)


def needs_auth(path: str) -> bool:
    return path.startswith(("/api/v1/", "/media/")) and path not in OPEN


def role_needed(method: str, path: str) -> Role:
    for prefix, write, read in RULES:
        if path.startswith(prefix):
            return read if method in READS else write
    return "viewer" if method in READS else "admin"


def allowed(role: str, method: str, path: str) -> bool:
    return RANK.get(role, -1) >= RANK[role_needed(method, path)]


def body_limit(path: str) -> int:
    for prefix, limit in BODY_LIMITS:
        if path.startswith(prefix):
            return limit
    return DEFAULT_BODY


def document(op: dict[str, Any], method: str, path: str) -> None:
    """The gate's answers in an authenticated operation's OpenAPI ``responses``."""
    responses = op.setdefault("responses", {})
    responses.setdefault("401", {"description": "Missing, wrong, disabled or revoked key or session"})
    responses.setdefault("429", {"description": "Too many requests, or failed sign-ins from this address "
                                                "(see Retry-After)"})
    need = role_needed(method.upper(), path)
    if need != "viewer":
        responses.setdefault("403", {"description": f"Needs the {need} role (the answer names it and yours)"})
    if method.lower() in ("post", "put", "patch"):
        responses.setdefault("413", {"description": f"Request body over {body_limit(path)} bytes"})
