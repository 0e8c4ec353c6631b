"""Why an upstream request failed: aiohttp/asyncio exceptions and HTTP statuses -> a reason code
from the catalogue (``b9_common.events.ops.Reason``) and a short message for people.

The scrapers call these where the outcome of an attempt is decided, so every
``scrape.attempted`` says why it ended as it did.
"""

from __future__ import annotations

import errno
import json
import socket
from typing import NamedTuple

import aiohttp

from b9_common.events.ops import Reason


class Why(NamedTuple):
    reason: Reason
    message: str
    http_status: int | None = None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def from_exception(exc: BaseException, where: str = "") -> Why:
    """Classify an exception raised while sending a request or reading its answer."""
    at = f" ({where})" if where else ""
    # aiohttp's timeouts subclass both TimeoutError and ClientError: test timeouts first
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return Why("timeout", _short(f"no answer in time{at}"))
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror) or type(exc).__name__ == "ClientConnectorDNSError":
            return Why("connection", _short(f"DNS lookup failed for {exc.host}{at}"))
        if isinstance(os_error, ConnectionRefusedError):
            return Why("connection", _short(f"connection refused by {exc.host}:{exc.port}{at}"))
        return Why("connection", _short(f"cannot connect to {exc.host}:{exc.port}: {os_error}{at}"))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Why("connection", _short(f"the server closed the connection{at}"))
    if isinstance(exc, ConnectionResetError) or getattr(exc, "errno", None) == errno.ECONNRESET:
        return Why("connection", _short(f"the connection was reset by the server{at}"))
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ContentTypeError):
        return Why("invalid_response", _short(f"unreadable response body{at}: {exc}"))
    if isinstance(exc, aiohttp.ClientResponseError):
        return Why("http_status", _short(f"HTTP {exc.status}{at}"), exc.status)
    if isinstance(exc, ConnectionError | aiohttp.ClientConnectionError | OSError):
        return Why("connection", _short(f"connection error{at}: {type(exc).__name__} {exc}"))
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | ValueError):
        return Why("invalid_response", _short(f"the answer is not JSON{at}"))
    return Why("invalid_response" if isinstance(exc, aiohttp.ClientError) else "connection",
               _short(f"{type(exc).__name__}: {exc}{at}"))


def from_status(status: int, where: str = "") -> Why:
    """An HTTP status that ended an attempt (after any retries)."""
    at = f" ({where})" if where else ""
    if status == 429:
        return Why("budget_exhausted", f"the upstream kept answering 429 Too Many Requests{at}", 429)
    if status == 404:
        return Why("not_found", f"not found (HTTP 404){at}", 404)
    return Why("http_status", f"the upstream answered HTTP {status}{at}", status)
