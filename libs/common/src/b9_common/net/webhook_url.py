"""Which webhook URLs an alert rule may name (the SSRF rules of ``net.safety``, shared by the
gateway at rule creation and the alerts service at every delivery).

- scheme ``https``, or ``http`` for an allow-listed host; no credentials in the URL;
- the host an IP literal in canonical form or a name; odd IPv4 spellings (``127.1``) refused;
- every address (the literal, or every DNS answer) public unicast per ``net.safety.address_problem``,
  unless the host is on the allow-list (``ALERT_WEBHOOK_ALLOWED_HOSTS``: ``host``, ``*.domain``;
  ``127.0.0.1`` to allow a local receiver).

``problem(url, allowed)`` is the static part (no DNS); ``resolve_problem`` adds the DNS answers.
The alerts service connects only to addresses it checked (``GuardedResolver`` in b9_alerts).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from b9_common.net.safety import OddAddress, address_problem, literal_host


def parse_hosts(raw: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """``*.example.com`` matches example.com and its subdomains; a bare name or address matches itself."""
    host = host.lower().rstrip(".").strip("[]")
    return any(pat == host or (pat.startswith("*.") and (host == pat[2:] or host.endswith(pat[1:])))
               for pat in patterns)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def problem(url: str, allowed: Iterable[str] = ()) -> str | None:
    """Why ``url`` may not be a webhook (a sentence), or None. Does not resolve names."""
    allowed = tuple(allowed)
    if len(url) > 2000:
        return "the URL is longer than 2000 characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"not a URL: {exc}"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "URLs with credentials are refused"
    listed = host_allowed(host, allowed)
    if parts.scheme == "http" and not listed:
        return f"plain http is only allowed for hosts in ALERT_WEBHOOK_ALLOWED_HOSTS (not {host})"
    try:
        ip = literal_host(host)
    except OddAddress as exc:
        return str(exc)
    if ip is not None and not listed:
        why = address_problem(ip)
        if why:
            return f"{host} is not a public address ({why}); allow it with ALERT_WEBHOOK_ALLOWED_HOSTS"
    return None


def addresses_problem(host: str, addresses: Iterable[str], allowed: Iterable[str]) -> str | None:
    """Why a DNS answer for ``host`` must not be connected to, or None."""
    if host_allowed(host, allowed):
        return None
    for addr in addresses:
        why = address_problem(ipaddress.ip_address(addr.split("%")[0]))
        if why:
            return f"{host} resolves to {addr}, not a public address ({why})"
    return None


async def resolve_problem(url: str, allowed: Iterable[str] = (), timeout: float = 3.0) -> str | None:
    """``problem`` plus the host's DNS answers (a name that does not resolve is refused)."""
    allowed = tuple(allowed)
    why = problem(url, allowed)
    if why or host_allowed(host_of(url), allowed):
        return why
    host = host_of(url)
    if literal_host(host) is not None:
        return None
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout)
    except (OSError, TimeoutError) as exc:
        return f"{host} does not resolve ({type(exc).__name__})"
    return addresses_problem(host, [str(i[4][0]) for i in infos], allowed)


__all__ = ["addresses_problem", "host_allowed", "host_of", "parse_hosts", "problem", "resolve_problem"]
