"""``after`` cursors of the lists: where the previous page ended, as an opaque string.

A cursor carries the list, sort and order it belongs to (``SortKey.name``), the sort value of
the page's last row and that row's unique key, as JSON, and a check digest of them, all
base64url. The digest makes an edited cursor a 422 instead of a silent jump; it is not a
secret (a forged cursor could only position a list its caller may read anyway). Every value
read back is checked against the kind of its column before it becomes a query parameter, so
no cursor reaches PostgreSQL with a value of the wrong type (a 500).
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import datetime
from typing import Any

import msgspec
from b9_readmodel.sql import SortKey

_KEY = b"b9 list cursor v1"
_DIGEST = 8
_INT4 = (-(2**31), 2**31 - 1)
MAX_TEXT = 300
_dec = msgspec.json.Decoder()
_NONFINITE_OUT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # a double column's other values
_NONFINITE_IN = frozenset(_NONFINITE_OUT.values())


class CursorError(ValueError):
    """Not a cursor of this list, sort and order (the message says why)."""


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_KEY, digest_size=_DIGEST).digest()


def encode(sk: SortKey, row: Any) -> str:
    """The cursor of ``row`` (a row of a page in ``sk``'s order)."""
    value = row[sk.field] if sk.col is not None else None
    if isinstance(value, float) and not math.isfinite(value):
        value = _NONFINITE_OUT[str(value)]  # JSON has no NaN: PostgreSQL sorts it above every number
    payload = msgspec.json.encode([sk.name, value, row[sk.key]])
    return base64.urlsafe_b64encode(payload + _digest(payload)).rstrip(b"=").decode()


def _value(sk: SortKey, value: Any) -> Any:
    """``value`` read from a cursor of ``sk``, as the query parameter for its column."""
    if value is None:
        if sk.col is not None and not sk.nullable:
            raise CursorError("no sort value: this order has no empty values")
        return None
    if sk.col is None:
        raise CursorError("a sort value where this order has none")
    kind = sk.kind
    if kind == "int" and type(value) is int and _INT4[0] <= value <= _INT4[1]:
        return value
    if kind == "float" and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if kind == "float" and value in _NONFINITE_IN:
        return float(value)
    if kind == "text" and isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    if kind == "time" and isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at
    raise CursorError(f"the sort value is not a valid {kind} value")


def decode(sk: SortKey, cursor: str) -> tuple[Any, str]:
    """(sort value or None, key) of the row ``cursor`` names, for a page in ``sk``'s order;
    ``CursorError`` when it is not a cursor of that list, sort and order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise CursorError("not a cursor: use the `next` of a page of this list") from None
    payload, digest = raw[:-_DIGEST], raw[-_DIGEST:]
    if len(raw) <= _DIGEST or digest != _digest(payload):
        raise CursorError("not a cursor of this API or altered: use the `next` of a page of this list")
    try:
        name, value, key = _dec.decode(payload)
    except (msgspec.DecodeError, TypeError, ValueError):
        raise CursorError("not a cursor of this version: use the `next` of a page of this list") from None
    if name != sk.name:
        raise CursorError(f"a cursor of {name!r}, not of {sk.name!r} (list:sort:order): keep the sort and order")
    if not isinstance(key, str) or not key or len(key) > MAX_TEXT:
        raise CursorError("the row key is not a key of this list")
    return _value(sk, value), key
