"""Fast JSON responses (msgspec bytes), pagination and small HTTP helpers."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, UUID):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_default, decimal_format="number")


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


class JSON(Response):
    """A JSON response whose body is msgspec-encoded (dicts, lists, Structs, Records as dicts)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return _encoder.encode(content)


def ok(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSON:
    return JSON(content, status_code=status_code, headers=headers)


def rows(records: list[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in records]


def page(items: list[Any], total: int, page_no: int, per_page: int, **more: Any) -> dict[str, Any]:
    """A page answer; ``more``: the list's own fields (the lists paged by cursor: ``next``)."""
    return {
        "items": items,
        "total": total,
        "page": page_no,
        "per_page": per_page,
        "pages": max(1, math.ceil(total / per_page)) if per_page else 1,
        **more,
    }


_checked: set[type[msgspec.Struct]] = set()


def page_bytes(
    struct: type[msgspec.Struct], records: list[Any], total: int, page_no: int, per_page: int, **more: Any
) -> bytes:
    """A page of records encoded through ``struct`` built positionally from each row: ~6x
    faster than ``dict(record)`` per row, the same JSON. The row's columns must be the
    Struct's fields in order (checked on the first row a process sees). ``more``: as ``page``."""
    if records and struct not in _checked:
        cols = tuple(records[0].keys())
        if cols != struct.__struct_fields__:
            raise RuntimeError(f"columns {cols} do not match {struct.__name__} {struct.__struct_fields__}")
        _checked.add(struct)
    return _encoder.encode(page([struct(*r) for r in records], total, page_no, per_page, **more))


# Every error a route answers is raised from one of these (the app's handlers add the ``error``
# sentence and the shapes the OpenAPI document describes).


def invalid(where: str, field: str, msg: str) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own (``detail`` list naming the field)."""
    return RequestValidationError([{"loc": (where, field), "msg": msg, "type": "value_error"}])


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def missing(detail: str) -> HTTPException:
    """A 404 whose detail is a sentence of its own (``not_found`` says '<what> not found')."""
    return HTTPException(status_code=404, detail=detail)


def bad_request(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=detail)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail)


def conflict(detail: str) -> HTTPException:
    return HTTPException(status_code=409, detail=detail)


def unavailable(detail: str, retry_after: int | None = None) -> HTTPException:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return HTTPException(status_code=503, detail=detail, headers=headers)


def require_stored(stored: bool, ids: list[str]) -> None:
    """A decision whose result the answer must show: a 503 (retry in a second) while persistence
    has not stored it yet."""
    if not stored:
        raise unavailable(f"decision {ids[0]} published but not stored yet: reload in a moment", retry_after=1)
