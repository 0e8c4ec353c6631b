"""Server-side request forgery guards: which URLs, hosts and addresses may be fetched.

Which addresses count as public is ``b9_common.net.safety`` (shared with other fetchers).

Every hop of a download passes ``UrlPolicy.check_url`` (scheme, host allow-list, IP
literals), and every DNS answer passes ``GuardedResolver`` before aiohttp connects: the
connector connects to exactly the addresses that were checked, so a second, different
DNS answer (rebinding) never reaches a socket.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from b9_common.events.derived import MediaFailure
from b9_common.net.safety import METADATA, IPAddress, OddAddress, address_problem, literal_host, public_address
from yarl import URL

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Blocked(OSError):
    """A URL or address the policy refuses. An OSError so aiohttp carries it out of connect."""

    def __init__(self, reason: MediaFailure, detail: str) -> None:
        super().__init__(detail)
        self.reason: MediaFailure = reason
        self.detail = detail


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """``*.example.com`` matches example.com and any subdomain; ``*`` matches every host."""
    host = host.lower().rstrip(".")
    for pat in patterns:
        if pat == "*" or pat == host:
            return True
        if pat.startswith("*.") and (host == pat[2:] or host.endswith(pat[1:])):
            return True
    return False


@dataclass(frozen=True)
class UrlPolicy:
    allowed_hosts: tuple[str, ...]
    allow_http: bool = False
    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = field(default_factory=tuple)
    # (scheme, IP, port) fetched as they are: MEDIA_ALLOWED_ORIGINS (`b9 up`'s seed origin)
    allowed_origins: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)

    def named_origin(self, url: URL) -> bool:
        """The URL is on an origin named exactly (an IP literal: nothing is resolved)."""
        if not self.allowed_origins or url.user or url.password or url.port is None:
            return False
        try:
            ip = str(ipaddress.ip_address(url.host or ""))
        except ValueError:  # a name, or an odd spelling of an address: the usual checks
            return False
        return ((url.scheme or "").lower(), ip, url.port) in self.allowed_origins

    def check_address(self, ip: IPAddress, host: str) -> None:
        if any(ip in net for net in self.allowed_networks):
            return
        if ip == METADATA and not self.allow_private:
            raise Blocked("blocked_address", f"{host} -> {ip} is the cloud metadata address")
        if not self.allow_private:
            why = address_problem(ip)
            if why is not None:
                raise Blocked("blocked_address", f"{host} -> {ip} is not a public address ({why})")

    def check_url(self, url: URL) -> None:
        if self.named_origin(url):
            return
        scheme = (url.scheme or "").lower()
        allowed_schemes = ("https", "http") if self.allow_http else ("https",)
        if scheme not in allowed_schemes:
            raise Blocked("blocked_scheme", f"scheme {scheme or '(none)'!r} not allowed")
        host = (url.host or "").lower()
        if not host:
            raise Blocked("blocked_host", "URL has no host")
        if url.user or url.password:
            raise Blocked("blocked_host", "URLs with credentials are not fetched")
        if not host_allowed(host, self.allowed_hosts):
            raise Blocked("blocked_host", f"host {host!r} is not on the allow-list")
        try:
            ip = literal_host(host)
        except OddAddress as exc:
            raise Blocked("blocked_host", str(exc)) from None
        if ip is not None:
            self.check_address(ip, host)  # aiohttp does not resolve IP literals: check here


class GuardedResolver(AbstractResolver):
    """Resolve with ``base``, then refuse the host if ANY answer is not allowed."""

    def __init__(self, policy: UrlPolicy, base: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.base = base or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.base.resolve(host, port, family)
        if not answers:
            raise OSError(f"no addresses for {host}")
        for answer in answers:
            # a zone id (fe80::1%eth0) only ever comes with link-local, which is refused
            self.policy.check_address(ipaddress.ip_address(answer["host"].split("%")[0]), host)
        return answers

    async def close(self) -> None:
        await self.base.close()


class StaticResolver(AbstractResolver):
    """Fixed answers for chosen names, others through the system (used to test the guard)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.fallback = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            return await self.fallback.resolve(host, port, family)
        out: list[ResolveResult] = []
        for addr in self.table[host]:
            ip = ipaddress.ip_address(addr)
            fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            item: Any = {
                "hostname": host,
                "host": addr,
                "port": port,
                "family": fam,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            out.append(item)
        return out

    async def close(self) -> None:
        await self.fallback.close()


__all__ = ["METADATA", "Blocked", "GuardedResolver", "IPAddress", "StaticResolver", "UrlPolicy", "host_allowed",
           "public_address"]
