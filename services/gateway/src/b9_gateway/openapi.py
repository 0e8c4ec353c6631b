"""Response schemas in the OpenAPI document, generated from msgspec Structs.

Routes return msgspec-encoded bytes (the fast path), so FastAPI cannot infer their shape;
``doc(Struct)`` registers the Struct and returns the ``responses=`` entry that points at it,
and ``install(app)`` adds every registered Struct to ``components.schemas``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

REF = "#/components/schemas/{name}"
_registry: list[Any] = []


def _ref(struct: Any) -> dict[str, Any]:
    if struct not in _registry:
        _registry.append(struct)
    return {"$ref": REF.format(name=struct.__name__)}


def doc(
    struct: Any,
    *,
    status: int = 200,
    paged: bool = False,
    many: bool = False,
    description: str = "OK",
) -> dict[int | str, dict[str, Any]]:
    schema: dict[str, Any] = _ref(struct)
    if many:
        schema = {"type": "array", "items": schema}
    if paged:
        schema = {
            "type": "object",
            "required": ["items", "total", "page", "per_page", "pages"],
            "properties": {
                "items": {"type": "array", "items": _ref(struct)},
                "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1},
                "pages": {"type": "integer", "minimum": 1},
            },
        }
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def install(app: FastAPI) -> None:
    def custom() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, components = msgspec.json.schema_components(_registry, ref_template=REF)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(components)
        app.openapi_schema = spec
        return spec

    app.openapi = custom  # type: ignore[method-assign]
