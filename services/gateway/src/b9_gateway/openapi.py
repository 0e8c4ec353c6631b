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

from b9_gateway import responses

REF = "#/components/schemas/{name}"
NEXT = {
    "anyOf": [{"type": "string"}, {"type": "null"}],
    "description": "The `after` of the next page (the cursor of this page's last row) when this page is full "
    "and more rows may follow, else null",
}
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
    cursor: bool = False,
    page_extra: dict[str, Any] | None = None,
    description: str = "OK",
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of ``struct`` (``many``: a list of them; ``paged``: a page of
    them; ``cursor``: a page that also carries ``next``, for the ``after`` parameter;
    ``page_extra``: more properties of the page, always present)."""
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
        if cursor:
            schema["required"].append("next")
            schema["properties"]["next"] = NEXT
        for name, prop in (page_extra or {}).items():
            schema["required"].append(name)
            schema["properties"][name] = prop
    schema["x-b9-schema"] = True
    content = {"application/json": {"schema": schema}}
    return {status: {"description": description, "content": content}}


def _own_schemas(spec: dict[str, Any]) -> None:
    """Keep only our schema where FastAPI merged its default one into a documented response."""
    keep = ("$ref", "type", "items", "properties", "required")
    for ops in spec.get("paths", {}).values():
        for op in ops.values():
            for resp in op.get("responses", {}).values():
                media = resp.get("content", {}).get("application/json", {})
                schema = media.get("schema")
                if isinstance(schema, dict) and schema.pop("x-b9-schema", False):
                    media["schema"] = {
                        k: v for k, v in schema.items() if k in keep and not (k == "type" and "$ref" in schema)
                    }


def _security(spec: dict[str, Any]) -> None:
    from b9_gateway import policy
    from b9_gateway.auth import SECURITY_SCHEMES

    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, ops in spec.get("paths", {}).items():
        if path.startswith(("/api/v1/", "/media/")) and path not in ("/api/v1/login", "/api/v1/logout"):
            for method, op in ops.items():
                op["security"] = [{"bearer": []}, {"session": []}]
                policy.document(op, method, path)  # 401, 403, 413, 429 from the auth gate


def install(app: FastAPI) -> None:
    def custom() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, components = msgspec.json.schema_components(_registry, ref_template=REF)
        _own_schemas(spec)
        _security(spec)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(components)
        responses.standardize(spec)  # 400/404/409/413/422/503 where they happen; no NUL in inputs
        app.openapi_schema = spec
        return spec

    app.openapi = custom  # type: ignore[method-assign]
