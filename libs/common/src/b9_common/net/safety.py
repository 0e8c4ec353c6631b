"""Which addresses a service may connect to when the URL came from outside (SSRF guards).

One function decides for every fetcher (media downloads today, alert webhooks later):
``address_problem(ip)`` says why an address is not an ordinary public unicast address, or
returns None. It does not trust ``ipaddress``'s ``is_global`` alone (Python 3.11 calls
``::127.0.0.1``, ``192.0.0.8`` and every 6to4 / NAT64 address global) and looks inside the
IPv6 forms that carry an IPv4 address: IPv4-mapped (``::ffff:0:0/96``), IPv4-compatible
(``::/96``), NAT64 (``64:ff9b::/96``; the local-use ``64:ff9b:1::/48`` is refused whole) and
6to4 (``2002::/16``); Teredo (``2001::/32``) is refused whole.

``literal_host(host)`` reads a URL's host as an IP literal the way a resolver would: the
canonical forms return the address, the short and odd IPv4 spellings that ``inet_aton`` and
``getaddrinfo`` accept (``127.1``, ``0x7f.1``, ``2130706433``, ``0177.0.0.1``) raise
``OddAddress`` (never fetched: they exist to slip past filters), a name returns None.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = ipaddress.ip_address("169.254.169.254")

_V4_BLOCKED = {
    "0.0.0.0/8": "'this network' (0.0.0.0/8)",
    "10.0.0.0/8": "private (10/8)",
    "100.64.0.0/10": "carrier-grade NAT (100.64/10)",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private (172.16/12)",
    "192.0.0.0/24": "IETF protocol assignments (192.0.0/24)",
    "192.0.2.0/24": "documentation",
    "192.88.99.0/24": "6to4 relay anycast",
    "192.168.0.0/16": "private (192.168/16)",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved (240/4, broadcast)",
}
_V6_BLOCKED = {
    "::/128": "unspecified",
    "::1/128": "loopback",
    "64:ff9b:1::/48": "local-use NAT64 (64:ff9b:1::/48)",
    "100::/64": "discard-only",
    "2001::/32": "Teredo",
    "2001::/23": "IETF protocol assignments",
    "2001:db8::/32": "documentation",
    "3fff::/20": "documentation",
    "5f00::/16": "segment routing",
    "fc00::/7": "unique local (private)",
    "fe80::/10": "link-local",
    "fec0::/10": "site-local",
    "ff00::/8": "multicast",
}
_V4 = [(ipaddress.IPv4Network(n), why) for n, why in _V4_BLOCKED.items()]
_V6 = [(ipaddress.IPv6Network(n), why) for n, why in _V6_BLOCKED.items()]
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPAT = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_6TO4 = ipaddress.IPv6Network("2002::/16")
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_NUMERIC_ISH = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}\.?$", re.IGNORECASE)


class OddAddress(ValueError):
    """A host spelled as a non-canonical IPv4 literal (``127.1``, ``0x7f000001``...)."""


def _embedded(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 transition form carries, with the form's name."""
    if ip in _MAPPED:
        return "IPv4-mapped", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _6TO4:
        return "6to4", ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    if ip in _COMPAT and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be connected to (a short phrase), or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded(ip)
        if inner is not None:
            form, v4 = inner
            why = address_problem(v4)
            return f"{form} form of {v4}, {why}" if why else None
        for net6, why6 in _V6:
            if ip in net6:
                return why6
    else:
        for net4, why4 in _V4:
            if ip in net4:
                return why4
    if ip.is_private or ip.is_reserved or ip.is_multicast or not ip.is_global:
        return "not globally routable"
    return None


def public_address(ip: IPAddress) -> bool:
    """True for an ordinary global unicast address (see ``address_problem``)."""
    return address_problem(ip) is None


def literal_host(host: str) -> IPAddress | None:
    """``host`` (from a URL, brackets allowed) as an IP address, None for a name.

    Raises ``OddAddress`` for IPv4 spellings other than the canonical dotted quad: resolvers
    read ``127.1`` as 127.0.0.1 and ``2130706433`` as the same, so they are refused outright."""
    bare = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if "%" in bare and ":" in bare:  # zone id (fe80::1%eth0): link-local by definition
        raise OddAddress(f"{host!r} is an IPv6 address with a zone")
    if _NUMERIC_ISH.match(bare) and not _DOTTED_QUAD.match(bare):
        raise OddAddress(f"{host!r} is a non-canonical IPv4 address")
    return None


__all__ = ["METADATA", "IPAddress", "OddAddress", "address_problem", "literal_host", "public_address"]
